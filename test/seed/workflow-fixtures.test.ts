/**
 * The synthetic workflow fixtures (fixtures/workflow-*.json, docs/care-workflows.md) load on an empty database
 * (with the server's own profiles installed) and tell the three stories: the care-bridge case, the
 * GP-to-physio referral with feedback, and the chronic-pain referral chain.
 */
import t from 'tap';
import { fixtureBundles, seedFixtures } from '../../src/seed/fixtures.js';
import { createTestApp, engine } from '../helpers/app.js';
import { search, type Json } from '../helpers/search.js';

const HTEST = 'http://terminology.hl7.org/CodeSystem/v3-ActReason|HTEST';

function elevenTest(bsn: string): boolean {
  const digits = bsn.split('').map(Number);
  return digits.length === 9 && (digits.slice(0, 8).reduce((sum, d, i) => sum + d * (9 - i), 0) - (digits[8] as number)) % 11 === 0;
}

t.test(`the workflow fixtures on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const written = await seedFixtures(app.app.fhirContext, 'http://localhost:80/fhir');
  const entries = fixtureBundles().reduce((n, { bundle }) => n + (bundle.entry?.length ?? 0), 0);
  t.equal(written, entries, 'every entry of every fixture was written');
  const read = async (url: string): Promise<Json> => {
    const response = await app.request({ method: 'GET', url: `/fhir/${url}` });
    t.equal(response.statusCode, 200, url);
    return response.json();
  };

  t.test('synthetic data only', async (t) => {
    for (const { file, bundle } of fixtureBundles()) {
      for (const entry of bundle.entry ?? []) {
        const labels = (entry.resource?.meta?.security ?? []).map((s) => `${s.system ?? ''}|${s.code ?? ''}`);
        t.ok(labels.includes(HTEST), `${file}: ${entry.request?.url ?? ''} is labelled HTEST`);
      }
    }
    const patients = await search(app, '/fhir/Patient?_count=100');
    t.ok(patients.ids.length >= 3);
    for (const entry of patients.body.entry) {
      const bsn = entry.resource.identifier.find((i: Json) => i.system === 'http://fhir.nl/fhir/NamingSystem/bsn').value as string;
      t.ok(bsn.startsWith('9999') && elevenTest(bsn), `${entry.resource.id as string}: BSN ${bsn} is a test number that passes the eleven-test`);
    }
    t.equal((await search(app, `/fhir/Patient?_security:not=${HTEST}`)).ids.length, 0, 'no unlabelled patient');
  });

  t.test('the professionals security will need: one per organisation and discipline', async (t) => {
    const roles = await search(app, '/fhir/PractitionerRole?_count=100&_include=PractitionerRole:organization');
    const byOrganization = new Map<string, string[]>();
    for (const entry of roles.body.entry.filter((e: Json) => e.search.mode === 'match')) {
      const list = byOrganization.get(entry.resource.organization.reference) ?? [];
      list.push(entry.resource.code[0].coding[0].code);
      byOrganization.set(entry.resource.organization.reference, list);
    }
    t.same(byOrganization.get('Organization/huisartsenpraktijk-de-linde'), ['01.015'], 'GP practice: huisarts');
    t.same(byOrganization.get('Organization/fysiotherapie-het-anker')?.sort(), ['04.000', '94.000'], 'physio practice: fysiotherapeut and oefentherapeut');
    t.same(byOrganization.get('Organization/thuiszorg-stadsbuurt'), ['30.000'], 'home care: verpleegkundige');
    t.same(byOrganization.get('Organization/revalidatiecentrum-zonnehoek'), ['01.042'], 'rehabilitation centre: revalidatiearts');
    for (const id of ['huisarts-de-boer', 'fysiotherapeut-visser', 'oefentherapeut-mulder', 'wijkverpleegkundige-bakker', 'revalidatiearts-de-vries']) {
      const systems = (await read(`Practitioner/${id}`)).identifier.map((i: Json) => i.system);
      t.ok(systems.includes('http://fhir.nl/fhir/NamingSystem/agb-z') && systems.includes('http://fhir.nl/fhir/NamingSystem/uzi-nr-pers'), `${id} has AGB and UZI`);
    }
  });

  t.test('GP to physiotherapist, with feedback', async (t) => {
    const task = await read('Task/taak-verwijzing-fysio-jansen');
    t.equal(task.status, 'completed');
    t.equal(task.meta.versionId, '5', 'requested, received, accepted, in progress, completed');
    t.equal(task.output[0].valueReference.reference, 'Communication/terugkoppeling-fysio-jansen');
    t.equal((await read('ServiceRequest/verwijzing-fysio-jansen')).status, 'completed', 'the referral completed with its Task');
    const treatments = await search(app, '/fhir/Encounter?based-on=ServiceRequest/verwijzing-fysio-jansen');
    t.equal(treatments.ids.length, 3);
    const done = await search(app, '/fhir/ServiceRequest?requester=PractitionerRole/huisarts-de-boer-de-linde&status=completed&_revinclude=Task:focus&_revinclude=Communication:based-on&_sort=-authored');
    t.ok(done.ids.includes('verwijzing-fysio-jansen'));
    t.ok(done.included.includes('Communication/terugkoppeling-fysio-jansen'), 'the GP reads the feedback with the referral');
  });

  t.test('chronic pain: GP to rehabilitation physician to exercise therapist', async (t) => {
    const triage = await read('ServiceRequest/verwijzing-revalidatie-el-amrani');
    t.equal(triage.status, 'completed');
    t.equal(triage.extension[0].valueInteger, 3, 'referred as WPN 3');
    const onward = await read('ServiceRequest/verwijzing-oefentherapie-el-amrani');
    t.same([onward.status, onward.extension[0].valueInteger, onward.requester.reference], ['active', 2, 'PractitionerRole/revalidatiearts-de-vries-zonnehoek'], 'triaged to WPN 2 and referred back to primary care');
    const triages = await search(app, '/fhir/Observation?based-on=ServiceRequest/verwijzing-revalidatie-el-amrani&code=http://schakel.nl/fhir/CodeSystem/pain-triage|triage&component-code-value-concept=http://schakel.nl/fhir/CodeSystem/pain-triage|decision$http://schakel.nl/fhir/CodeSystem/pain-triage|refer-back');
    t.same(triages.ids, ['triage-el-amrani'], 'the triage as data: referred back to primary care');
    const inbox = await search(app, '/fhir/ServiceRequest?requester=PractitionerRole/revalidatiearts-de-vries-zonnehoek&status=active&_revinclude=Task:focus&_revinclude=Communication:based-on&_sort=-authored');
    t.same(inbox.ids, ['verwijzing-oefentherapie-el-amrani'], 'the rehabilitation physician\'s inbox');
    t.same(inbox.included, ['Communication/intake-oefentherapie-el-amrani', 'Task/taak-verwijzing-oefentherapie-el-amrani'], 'with the Task and the intake feedback');
  });

  t.test('the care bridge: plan, visits, logbook and progress', async (t) => {
    const progress = await read('CarePlan/zorgbrug-de-graaf/$progress?date=2026-11-23');
    const activities = progress.parameter.filter((p: Json) => p.name === 'activity');
    const figure = (a: Json, name: string) => a.part.find((p: Json) => p.name === name)?.valueInteger;
    t.same(activities.map((a: Json) => [figure(a, 'allowed'), figure(a, 'onIndication'), figure(a, 'used')]), [[9, 0, 6], [4, 1, 3]], '6 of 9 physiotherapy sessions, 3 of 4 (+1) home visits');
    const window = progress.parameter.find((p: Json) => p.name === 'window');
    t.same(window.part.map((p: Json) => p.valueDate ?? p.valueInteger), ['2026-10-26', '2027-01-18', 84, 56]);
    t.equal(progress.parameter.find((p: Json) => p.name === 'flagged').valueInteger, 0);
    const logbook = await search(app, '/fhir/CarePlan/zorgbrug-de-graaf/$logbook?_count=50');
    t.equal(logbook.ids.length, 19, '10 logbook entries and 9 visits');
    t.same(logbook.ids.slice(0, 3), ['logboek-de-graaf-09', 'logboek-de-graaf-10', 'huisbezoek-de-graaf-3'], 'newest first (same moment: in order of writing)');
    t.equal(logbook.ids[18], 'huisbezoek-de-graaf-1', 'the first home visit last');
    const nurse = await search(app, '/fhir/CarePlan/zorgbrug-de-graaf/$logbook?author-discipline=30.000&_count=50');
    const physio = await search(app, '/fhir/CarePlan/zorgbrug-de-graaf/$logbook?author-discipline=04.000&_count=50');
    t.same([nurse.ids.length, physio.ids.length], [10, 9], 'both disciplines write in it');
    const measurements = await search(app, '/fhir/Observation?based-on=CarePlan/zorgbrug-de-graaf&_count=50');
    t.equal(measurements.ids.length, 10);
  });
});
