// :in and :not-in on token parameters (https://hl7.org/fhir/R4/search.html#modifiers), with value
// sets of the R4 specification and value sets stored on this server.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { ids, put, search } from '../helpers/search.js';

const LOINC = 'http://loinc.org';
const VITALS = 'https://schakel.test/ValueSet/vitale-functies';
const DISCIPLINES = 'https://schakel.test/CodeSystem/disciplines';

t.test(`:in and :not-in on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await put(app, { resourceType: 'Patient', id: 'p1', gender: 'female', name: [{ family: 'Jansen' }] });
  await put(app, { resourceType: 'Patient', id: 'p2', gender: 'unknown', name: [{ family: 'Bakker' }] });
  const observation = (id: string, code: string, subject = 'p1') =>
    put(app, { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code }] }, subject: { reference: `Patient/${subject}` } });
  await observation('bp', '85354-9');
  await observation('hr', '8867-4');
  await observation('weight', '29463-7', 'p2');
  const condition = (id: string, status?: string) =>
    put(app, {
      resourceType: 'Condition',
      id,
      subject: { reference: 'Patient/p1' },
      code: { text: 'Hartfalen' },
      ...(status ? { clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }] } } : {}),
    });
  await condition('c-active', 'active');
  await condition('c-relapse', 'relapse');
  await condition('c-resolved', 'resolved');
  await condition('c-none');

  // Two versions of one value set: a bare canonical takes the active one.
  await put(app, {
    resourceType: 'ValueSet',
    id: 'vitals-1',
    url: VITALS,
    version: '1',
    status: 'retired',
    compose: { include: [{ system: LOINC, concept: [{ code: '85354-9' }] }] },
  });
  await put(app, {
    resourceType: 'ValueSet',
    id: 'vitals-2',
    url: VITALS,
    version: '2',
    status: 'active',
    compose: { include: [{ system: LOINC, concept: [{ code: '85354-9' }, { code: '8867-4' }] }] },
  });

  t.test('a value set of the R4 specification, with nested codes (active > relapse); code elements match on their code', async (t) => {
    t.same(await ids(app, 'Condition?clinical-status:in=http://hl7.org/fhir/ValueSet/condition-clinical'), ['c-active', 'c-relapse', 'c-resolved']);
    t.same(await ids(app, 'Patient?gender:in=http://hl7.org/fhir/ValueSet/administrative-gender'), ['p1', 'p2']);
  });

  t.test('a stored value set, by canonical, by canonical and version, and by id', async (t) => {
    t.same(await ids(app, `Observation?code:in=${VITALS}`), ['bp', 'hr']);
    t.same(await ids(app, `Observation?code:in=${VITALS}|1`), ['bp']);
    t.same(await ids(app, 'Observation?code:in=ValueSet/vitals-1'), ['bp']);
    t.same(await ids(app, `Observation?code:not-in=${VITALS}`), ['weight']);
  });

  t.test('whole code systems, included value sets (intersection) and exclusions', async (t) => {
    await put(app, {
      resourceType: 'CodeSystem',
      id: 'disciplines',
      url: DISCIPLINES,
      status: 'active',
      content: 'complete',
      concept: [
        { code: 'fysio', display: 'Fysiotherapie', concept: [{ code: 'oefen', display: 'Oefentherapie' }] },
        { code: 'wijk', display: 'Wijkverpleging' },
        { code: 'ha', display: 'Huisarts' },
      ],
    });
    await put(app, { resourceType: 'ValueSet', id: 'all-disciplines', url: 'https://schakel.test/ValueSet/all', status: 'active', compose: { include: [{ system: DISCIPLINES }] } });
    await put(app, {
      resourceType: 'ValueSet',
      id: 'paramedical',
      url: 'https://schakel.test/ValueSet/paramedical',
      status: 'active',
      compose: { include: [{ valueSet: ['https://schakel.test/ValueSet/all'] }], exclude: [{ system: DISCIPLINES, concept: [{ code: 'ha' }] }] },
    });
    const role = (id: string, code: string) => put(app, { resourceType: 'PractitionerRole', id, code: [{ coding: [{ system: DISCIPLINES, code }] }] });
    await role('r-fysio', 'fysio');
    await role('r-oefen', 'oefen');
    await role('r-wijk', 'wijk');
    await role('r-ha', 'ha');
    t.same(await ids(app, 'PractitionerRole?role:in=https://schakel.test/ValueSet/all'), ['r-fysio', 'r-ha', 'r-oefen', 'r-wijk']);
    t.same(await ids(app, 'PractitionerRole?role:in=https://schakel.test/ValueSet/paramedical'), ['r-fysio', 'r-oefen', 'r-wijk']);
    t.same(await ids(app, 'PractitionerRole?role:not-in=https://schakel.test/ValueSet/paramedical'), ['r-ha']);
  });

  t.test(':not-in matches resources without a value, as :not does', async (t) => {
    t.same(await ids(app, 'Condition?clinical-status:not-in=http://hl7.org/fhir/ValueSet/condition-clinical'), ['c-none']);
  });

  t.test('several value sets are alternatives (OR); chains carry :in too', async (t) => {
    t.same(await ids(app, `Observation?code:in=${VITALS}|1,ValueSet/vitals-2`), ['bp', 'hr']);
    t.same(await ids(app, 'Observation?subject:Patient.gender:in=http://hl7.org/fhir/ValueSet/administrative-gender&subject:Patient.family=Bakker'), ['weight']);
  });

  t.test('unknown and unexpandable value sets answer 400 naming the parameter', async (t) => {
    const unknown = await search(app, 'Observation?code:in=https://schakel.test/ValueSet/none-such');
    t.equal(unknown.status, 400);
    t.equal(unknown.body.issue[0].expression[0], 'code:in');
    t.match(unknown.body.issue[0].details.text, /not known/);
    await put(app, {
      resourceType: 'ValueSet',
      id: 'by-filter',
      url: 'https://schakel.test/ValueSet/by-filter',
      status: 'active',
      compose: { include: [{ system: 'http://snomed.info/sct', filter: [{ property: 'concept', op: 'is-a', value: '404684003' }] }] },
    });
    const filtered = await search(app, 'Observation?code:in=https://schakel.test/ValueSet/by-filter');
    t.equal(filtered.status, 400);
    t.equal(filtered.body.issue[0].code, 'not-supported');
    const lenient = await search(app, 'Observation?code:in=https://schakel.test/ValueSet/none-such&subject=Patient/p2', { prefer: 'handling=lenient' });
    t.equal(lenient.status, 200);
    t.same(lenient.ids, ['weight'], 'under lenient handling the criterion is left out and reported');
  });
});
