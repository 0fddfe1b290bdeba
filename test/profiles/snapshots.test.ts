/**
 * Snapshot generation (scripts/profiles/): the committed snapshots in profiles/ are exactly what
 * `npm run profiles` generates from the differentials, and the generator applies each constraint
 * kind the profiles use and refuses what it does not understand or what would loosen the base.
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import t from 'tap';
import { r4StructureDefinitions } from '../../src/fhir/definitions.js';
import { formatProfile, regenerateProfiles } from '../../scripts/profiles/regenerate.js';
import { generateSnapshot, SnapshotError } from '../../scripts/profiles/snapshot.js';

const R4 = 'http://hl7.org/fhir/StructureDefinition/';
const known = new Map(r4StructureDefinitions().map((sd) => [sd.url, sd]));

function profile(type: string, differential: ElementDefinition[], base = `${R4}${type}`): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url: `https://schakel.test/StructureDefinition/${type.toLowerCase()}-test`,
    name: 'Test',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type,
    baseDefinition: base,
    derivation: 'constraint',
    differential: { element: differential },
  };
}

const ids = (elements: ElementDefinition[]): string[] => elements.map((e) => e.id as string);
const find = (elements: ElementDefinition[], id: string): ElementDefinition | undefined => elements.find((e) => e.id === id);
const path = (id: string): string => id.split('.').map((s) => s.split(':')[0]).join('.');
const el = (id: string, rest: Partial<ElementDefinition> = {}): ElementDefinition => ({ id, path: path(id), ...rest });
const lookup = (url: string) => known.get(url);

t.test('the committed snapshots are the generated ones', async (t) => {
  const files = regenerateProfiles('profiles');
  t.ok(files.length >= 13, `${files.length} profiles`);
  for (const { file, text, generated } of files) {
    t.equal(formatProfile(generated), text, `${file} is up to date (npm run profiles)`);
    t.ok((generated.snapshot?.element.length ?? 0) > (generated.differential?.element.length ?? 0), `${file} has a full snapshot`);
  }
});

t.test('cardinality, values, bindings and invariants are applied', async (t) => {
  const constraint = { key: 'tst-1', severity: 'error' as const, human: 'x', expression: 'true', source: 'https://schakel.test' };
  const snapshot = generateSnapshot(
    profile('ServiceRequest', [
      el('ServiceRequest', { constraint: [constraint] }),
      el('ServiceRequest.requester', { min: 1, mustSupport: true }),
      el('ServiceRequest.intent', { fixedCode: 'order' }),
      el('ServiceRequest.priority', { binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/request-priority' } }),
    ]),
    lookup
  );
  const base = known.get(`${R4}ServiceRequest`)?.snapshot?.element ?? [];
  t.same(ids(snapshot), ids(base), 'same elements as the base, in the same order');
  t.equal(find(snapshot, 'ServiceRequest.requester')?.min, 1);
  t.equal(find(snapshot, 'ServiceRequest.requester')?.mustSupport, true);
  t.equal(find(snapshot, 'ServiceRequest.intent')?.fixedCode, 'order');
  const root = find(snapshot, 'ServiceRequest');
  t.ok(root?.constraint?.some((c) => c.key === 'tst-1'), 'the new invariant is added');
  t.ok(root?.constraint?.some((c) => c.key === 'dom-2'), 'the base invariants stay');
  t.notOk(
    snapshot.some((e) => e.extension?.some((x) => x.url.endsWith('structuredefinition-normative-version'))),
    'the base specification\'s own status extensions are not inherited'
  );
});

t.test('elements below an unexpanded data type are unrolled from the type', async (t) => {
  const snapshot = generateSnapshot(profile('ServiceRequest', [el('ServiceRequest.subject.identifier', { min: 1 })]), lookup);
  const at = ids(snapshot).indexOf('ServiceRequest.subject');
  t.same(ids(snapshot).slice(at, at + 7), [
    'ServiceRequest.subject',
    'ServiceRequest.subject.id',
    'ServiceRequest.subject.extension',
    'ServiceRequest.subject.reference',
    'ServiceRequest.subject.type',
    'ServiceRequest.subject.identifier',
    'ServiceRequest.subject.display',
  ]);
  t.equal(find(snapshot, 'ServiceRequest.subject.identifier')?.min, 1);
  t.equal(find(snapshot, 'ServiceRequest.subject.identifier')?.path, 'ServiceRequest.subject.identifier');
});

t.test('slices are copies of the sliced element, after its children; required slices make it required', async (t) => {
  const snapshot = generateSnapshot(
    profile('CarePlan', [
      el('CarePlan.activity', { slicing: { discriminator: [{ type: 'pattern', path: 'detail.code' }], rules: 'open' } }),
      el('CarePlan.activity:physio', { min: 1, max: '1' }),
      el('CarePlan.activity:physio.detail.code', { patternCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '91251008' }] } }),
      el('CarePlan.activity:other'),
    ]),
    lookup
  );
  const list = ids(snapshot);
  t.ok(list.indexOf('CarePlan.activity:physio') > list.indexOf('CarePlan.activity.detail.description'), 'after the base children');
  t.equal(list[list.indexOf('CarePlan.activity:physio') + 1], 'CarePlan.activity:physio.id', 'with its own children');
  t.ok(list.indexOf('CarePlan.activity:other') > list.indexOf('CarePlan.activity:physio.detail.description'), 'slices in differential order');
  t.equal(list[list.length - 1], 'CarePlan.note', 'the next element of the base follows the slices');
  t.equal(find(snapshot, 'CarePlan.activity:physio')?.sliceName, 'physio');
  t.equal(find(snapshot, 'CarePlan.activity:other')?.min, 0, 'a slice is optional unless the differential says otherwise');
  t.equal(find(snapshot, 'CarePlan.activity')?.min, 1, 'the required slice makes activity required');
  t.notOk(find(snapshot, 'CarePlan.activity:physio')?.slicing, 'a slice does not repeat the slicing');
  t.ok(find(snapshot, 'CarePlan.activity:physio.detail.code')?.patternCodeableConcept);
});

t.test('extension slices get the url discriminator and are unrolled from their extension profile', async (t) => {
  const extension: StructureDefinition = {
    ...profile('Extension', [el('Extension.url', { fixedUri: 'https://schakel.test/ext' }), el('Extension.value[x]', { type: [{ code: 'date' }] })]),
    url: 'https://schakel.test/ext',
    kind: 'complex-type',
  };
  extension.snapshot = { element: generateSnapshot(extension, lookup) };
  const withExtension = (url: string) => (url === extension.url ? extension : lookup(url));
  const snapshot = generateSnapshot(
    profile('CarePlan', [el('CarePlan.extension:discharge', { min: 1, max: '1', type: [{ code: 'Extension', profile: [extension.url] }] })]),
    withExtension
  );
  t.same(find(snapshot, 'CarePlan.extension')?.slicing?.discriminator, [{ type: 'value', path: 'url' }]);
  t.equal(find(snapshot, 'CarePlan.extension:discharge.url')?.fixedUri, 'https://schakel.test/ext');
  t.same(find(snapshot, 'CarePlan.extension:discharge.value[x]')?.type, [{ code: 'date' }]);
});

t.test('what the generator refuses', async (t) => {
  const refuses = (differential: ElementDefinition[], why: string) =>
    t.throws(() => generateSnapshot(profile('ServiceRequest', differential), lookup), SnapshotError, why);
  refuses([el('ServiceRequest.subject', { min: 0 })], 'a lower min than the base');
  refuses([el('ServiceRequest.subject', { max: '*' })], 'a higher max than the base');
  refuses([el('ServiceRequest.subject', { type: [{ code: 'Identifier' }] })], 'a type the base does not allow');
  refuses([el('ServiceRequest.colour')], 'an element the resource does not have');
  refuses([el('ServiceRequest.category:x')], 'a slice of an element that is not sliced');
  refuses([el('ServiceRequest.occurrence[x].repeat')], 'unrolling a choice element');
  refuses([el('ServiceRequest.subject', { contentReference: '#x' })], 'a differential key it does not understand');
  refuses([{ id: 'ServiceRequest.subject', path: 'ServiceRequest.requester' }], 'an id and path that disagree');
  t.throws(() => generateSnapshot({ ...profile('ServiceRequest', []), derivation: 'specialization' }, lookup), SnapshotError, 'a specialization');
  t.throws(() => generateSnapshot(profile('ServiceRequest', [], 'https://schakel.test/unknown'), lookup), SnapshotError, 'an unknown base');
});
