// Chaining, reverse chaining, _include and _revinclude: https://hl7.org/fhir/R4/search.html#chaining
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { BSN, ids, put, search } from '../helpers/search.js';

const AGB = 'http://fhir.nl/fhir/NamingSystem/agb-z';

t.test(`chains, _has and includes on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await put(app, { resourceType: 'Organization', id: 'huisarts', name: 'Huisartsenpraktijk Zuid', identifier: [{ system: AGB, value: '01234567' }] });
  await put(app, { resourceType: 'Organization', id: 'fysio', name: 'Fysio Centrum', identifier: [{ system: AGB, value: '07654321' }] });
  await put(app, { resourceType: 'Practitioner', id: 'gp', name: [{ family: 'Visser' }] });
  await put(app, { resourceType: 'Patient', id: 'p1', identifier: [{ system: BSN, value: '999900018' }], name: [{ family: 'Jansen' }], managingOrganization: { reference: 'Organization/huisarts' }, generalPractitioner: [{ reference: 'Practitioner/gp' }] });
  await put(app, { resourceType: 'Patient', id: 'p2', identifier: [{ system: BSN, value: '999900031' }], name: [{ family: 'de Vries' }], managingOrganization: { reference: 'Organization/fysio' } });
  await put(app, { resourceType: 'Group', id: 'g1', type: 'person', actual: true, name: 'Jansen-groep', identifier: [{ system: 'urn:groups', value: '999900018' }] });
  const referral = (id: string, patient: string) =>
    put(app, { resourceType: 'ServiceRequest', id, status: 'active', intent: 'order', subject: { reference: `Patient/${patient}` }, requester: { reference: 'Practitioner/gp' } });
  await referral('sr1', 'p1');
  await referral('sr2', 'p2');
  const task = (id: string, focus: string, status: string, patient: string) =>
    put(app, { resourceType: 'Task', id, status, intent: 'order', focus: { reference: `ServiceRequest/${focus}` }, for: { reference: `Patient/${patient}` }, owner: { reference: 'Organization/fysio' } });
  await task('t1', 'sr1', 'requested', 'p1');
  // A referral Task walks the state machine (docs/care-workflows.md): requested, received, accepted.
  for (const status of ['requested', 'received', 'accepted']) {
    await task('t2', 'sr2', status, 'p2');
  }
  const obs = (id: string, subject: string, code: string) =>
    put(app, { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: subject }, effectiveDateTime: '2024-03-01' });
  await obs('o1', 'Patient/p1', '85354-9');
  await obs('o2', 'Patient/p2', '8867-4');
  await obs('o3', 'Group/g1', '85354-9');
  await put(app, { resourceType: 'Observation', id: 'o4', status: 'final', code: { text: 'afgeleid' }, subject: { reference: 'Patient/p1' }, derivedFrom: [{ reference: 'Observation/o1/_history/1' }] });
  await put(app, { resourceType: 'Observation', id: 'o5', status: 'final', code: { text: 'extern' }, subject: { reference: 'https://elders.example/fhir/Patient/77' } });
  // A reference by BSN alone: resolved on write to p1 (repository/identifier-references.ts), so it is p1's like o1 and o4.
  await put(app, { resourceType: 'Observation', id: 'o6', status: 'final', code: { text: 'logisch' }, subject: { identifier: { system: BSN, value: '999900018' } } });

  t.test('reference values', async (t) => {
    t.same(await ids(app, 'Observation?subject=Patient/p1'), ['o1', 'o4', 'o6']);
    t.same(await ids(app, 'Observation?subject=p1'), ['o1', 'o4', 'o6'], 'a bare id');
    t.same(await ids(app, 'Observation?subject:Patient=p1'), ['o1', 'o4', 'o6'], ':[type] modifier');
    t.same(await ids(app, 'Observation?subject:Group=g1'), ['o3']);
    t.same(await ids(app, 'Observation?subject=http://localhost:80/fhir/Patient/p1'), ['o1', 'o4', 'o6'], 'an absolute URL on this server');
    t.same(await ids(app, 'Observation?subject=https://elders.example/fhir/Patient/77'), ['o5'], 'an absolute URL elsewhere');
    t.same(await ids(app, `Observation?subject:identifier=${BSN}|999900018`), ['o6']);
    t.same(await ids(app, 'Observation?derived-from=Observation/o1'), ['o4'], 'version-less search matches a versioned reference');
    t.same(await ids(app, 'Observation?derived-from=Observation/o1/_history/1'), ['o4']);
    t.same(await ids(app, 'Observation?derived-from=Observation/o1/_history/2'), []);
    t.same(await ids(app, 'Observation?patient=Patient/p1'), ['o1', 'o4', 'o6']);
  });

  t.test('chained parameters', async (t) => {
    t.same(await ids(app, `Observation?subject:Patient.identifier=${BSN}|999900018`), ['o1', 'o4', 'o6'], 'typed chain');
    t.same(await ids(app, 'Observation?subject.identifier=999900018'), ['o1', 'o3', 'o4', 'o6'], 'untyped: Patient and Group identifiers');
    t.same(await ids(app, 'Observation?subject.name=jansen'), ['o1', 'o4', 'o6'], 'untyped: only the targets that have the parameter');
    t.same(await ids(app, 'Observation?subject:Patient.name=jansen'), ['o1', 'o4', 'o6']);
    t.same(await ids(app, `Observation?subject:Patient.organization.identifier=${AGB}|07654321`), ['o2'], 'two levels');
    t.same(await ids(app, 'Task?focus:ServiceRequest.subject:Patient.general-practitioner.name=visser'), ['t1'], 'three levels');
    t.same(await ids(app, 'Observation?subject:Patient.identifier=999900018,999900031'), ['o1', 'o2', 'o4', 'o6'], 'OR inside a chain');
    t.same(await ids(app, 'Observation?subject:Patient.name=jansen&subject:Patient.name=vries'), [], 'AND across chains');
  });

  t.test('reverse chaining with _has', async (t) => {
    t.same(await ids(app, 'ServiceRequest?_has:Task:focus:status=requested'), ['sr1']);
    t.same(await ids(app, 'Patient?_has:Observation:subject:code=85354-9'), ['p1']);
    t.same(await ids(app, 'Patient?_has:Observation:patient:code=8867-4,85354-9'), ['p1', 'p2']);
    t.same(await ids(app, 'Patient?_has:ServiceRequest:subject:_has:Task:focus:status=accepted'), ['p2'], 'nested _has');
    t.same(await ids(app, 'Organization?_has:Patient:organization:_has:Observation:subject:code=85354-9'), ['huisarts']);
  });

  t.test('_include and _revinclude, with :iterate and *', async (t) => {
    let result = await search(app, 'Observation?code=85354-9&_include=Observation:subject');
    t.same([...result.ids].sort(), ['o1', 'o3']);
    t.same(result.included, ['Group/g1', 'Patient/p1']);
    t.ok(result.body.entry.every((e: { search: { mode: string } }) => ['match', 'include'].includes(e.search.mode)));

    result = await search(app, 'Observation?code=85354-9&_include=Observation:subject:Patient');
    t.same(result.included, ['Patient/p1'], 'target type narrows the include');

    result = await search(app, 'Task?_id=t1&_include=Task:focus&_include:iterate=ServiceRequest:subject&_include:iterate=Patient:general-practitioner');
    t.same(result.included, ['Patient/p1', 'Practitioner/gp', 'ServiceRequest/sr1'], ':iterate follows included resources');
    result = await search(app, 'Task?_id=t1&_include=Task:focus&_include=ServiceRequest:subject');
    t.same(result.included, ['ServiceRequest/sr1'], 'without :iterate includes apply to matches only');

    result = await search(app, 'Patient?_id=p1&_revinclude=Observation:subject');
    t.same(result.included, ['Observation/o1', 'Observation/o4', 'Observation/o6']);
    result = await search(app, 'ServiceRequest?_id=sr1&_revinclude=Task:focus&_include=ServiceRequest:requester');
    t.same(result.included, ['Practitioner/gp', 'Task/t1']);
    result = await search(app, 'Patient?_id=p2&_revinclude=Task:patient&_include:iterate=Task:owner');
    t.same(result.included, ['Organization/fysio', 'Task/t2'], ':iterate after a revinclude');
    result = await search(app, 'Patient?_id=p1&_include=*');
    t.same(result.included, ['Organization/huisarts', 'Practitioner/gp'], '_include=* follows every reference');
    result = await search(app, 'Patient?_id=p1&_include=Patient:*');
    t.same(result.included, ['Organization/huisarts', 'Practitioner/gp']);
    result = await search(app, 'Observation?_id=o1,o4&_include=Observation:derived-from');
    t.same(result.ids.sort(), ['o1', 'o4']);
    t.same(result.included, [], 'a match is not repeated as an include');
  });

  t.test('invalid chains and includes answer 400 naming the parameter', async (t) => {
    for (const url of [
      'Observation?code.name=x',
      'Observation?subject:Patient.nothing=x',
      'Observation?subject:Medication.code=x',
      'Patient?_has:Observation:code:status=final',
      'Patient?_has:Nothing:subject:code=x',
      'Patient?_include=Patient:name',
      'Patient?_revinclude=Observation',
    ]) {
      const result = await search(app, url);
      t.equal(result.status, 400, url);
      t.equal(result.body.resourceType, 'OperationOutcome', url);
      t.ok(result.body.issue[0].expression?.[0], `${url} names the parameter`);
    }
  });
});
