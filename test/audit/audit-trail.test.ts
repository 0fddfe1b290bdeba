// Accountability (docs/security.md): NEN 7513 AuditEvents for reads, searches, writes and refusals; Provenance per write; break-the-glass.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/auth.js';
import { careScenario, observation } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';

const UZI = 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers';
const AGB = 'http://fhir.nl/fhir/NamingSystem/agb-z';

async function events(app: TestApp, query: string): Promise<any[]> {
  const response = await app.request({ method: 'GET', url: `/fhir/AuditEvent?${query}&_sort=-date&_count=100`, as: 'auditor' });
  t.equal(response.statusCode, 200);
  return (response.json().entry ?? []).map((e: any) => e.resource);
}

const requestor = (event: any) => event.agent.find((a: any) => a.requestor);
const entityRefs = (event: any) => event.entity.filter((e: any) => e.what).map((e: any) => e.what.reference).sort();

t.test(`AuditEvents for a read, a search, a write and a refusal on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);

  t.equal((await app.request({ method: 'GET', url: '/fhir/Patient/p-kok', as: 'gp' })).statusCode, 200);
  const [read] = await events(app, 'patient=Patient/p-kok&subtype=read');
  t.ok(read, 'the read is recorded');
  t.equal(read.action, 'R');
  t.equal(read.outcome, '0');
  t.equal(read.type.code, 'rest');
  t.ok(Date.now() - Date.parse(read.recorded) < 60_000, 'recorded now');
  const user = requestor(read);
  t.same(user.who.identifier, { system: UZI, value: '999990001' }, 'the professional by UZI');
  t.equal(user.who.reference, 'Practitioner/t-gp-pract');
  t.equal(user.role[0].coding[0].code, '01.015', 'with role');
  t.ok(user.network.address, 'and network address');
  const org = read.agent.find((a: any) => a.type.coding[0].code === 'PROV');
  t.same(org.who.identifier, { system: AGB, value: '01099001' }, 'the organisation by AGB');
  const client = read.agent.find((a: any) => a.type.coding[0].code === '110150');
  t.equal(client.who.identifier.value, 'gp', 'the client system');
  t.same(entityRefs(read), ['Patient/p-kok', 'Patient/p-kok/_history/1'], 'the patient and the exact version read');
  t.equal(read.entity.find((e: any) => e.role.code === '1').what.reference, 'Patient/p-kok');
  t.equal(read.source.type[0].code, '4', 'log source: the application server');

  const search = await app.request({ method: 'GET', url: '/fhir/Observation?subject=Patient/p-kok', as: 'gp' });
  t.equal(search.statusCode, 200);
  const [searched] = await events(app, 'subtype=search-type&agent:identifier=' + encodeURIComponent(`${UZI}|999990001`));
  t.ok(searched, 'the search is recorded');
  const query = searched.entity.find((e: any) => e.role.code === '24');
  t.equal(Buffer.from(query.query, 'base64').toString('utf8'), 'Observation?subject=Patient%2Fp-kok', 'with its query');
  t.same(entityRefs(searched), ['Observation/obs-kok-2/_history/1', 'Observation/obs-kok/_history/1', 'Patient/p-kok'], 'and what it returned');

  const created = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'gp', body: observation('', 'p-kok', { id: undefined }) });
  t.equal(created.statusCode, 201);
  const id = created.json().id as string;
  const [write] = await events(app, `entity=Observation/${id}`);
  t.equal(write.action, 'C');
  t.same(entityRefs(write), ['Patient/p-kok', `Observation/${id}/_history/1`].sort());

  const refused = await app.request({ method: 'GET', url: '/fhir/Observation/obs-kok', as: 'physio' });
  t.equal(refused.statusCode, 404);
  const [refusal] = await events(app, 'outcome=4&entity=Observation/obs-kok');
  t.equal(refusal.outcome, '4', 'a refusal is recorded as a failure');
  t.equal(refusal.outcomeDesc, 'not-found');
  t.equal(requestor(refusal).who.identifier.value, '999990002');
  const forbidden = await app.request({ method: 'GET', url: '/fhir/AuditEvent' });
  t.equal(forbidden.statusCode, 403, 'system/*.cruds does not read the audit log');
  const [scopeRefusal] = await events(app, 'outcome=4&subtype=search-type');
  t.equal(scopeRefusal.outcomeDesc, 'forbidden');
  t.equal(requestor(scopeRefusal).who.identifier.value, 'admin');

  const unindexed = await app.request({ method: 'GET', url: '/fhir/AuditEvent?agent-name=Boer', as: 'auditor' });
  assertIssue(t, unindexed, 400, 'not-supported', 'agent-name');

  const log = await events(app, 'patient=Patient/p-kok');
  t.ok(log.length >= 4, "the patient's own access log is one search");
  t.ok(log.some((e) => e.outcome === '4'), 'refused attempts included');
});

t.test(`AuditEvents are append-only, Provenance comes with every write on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const [one] = await events(app, 'patient=Patient/p-kok');
  for (const as of ['admin', 'auditor'] as const) {
    assertIssue(t, await app.request({ method: 'PUT', url: `/fhir/AuditEvent/${one.id}`, as, body: { ...one, outcome: '0' } }), 405, 'not-supported');
    assertIssue(t, await app.request({ method: 'DELETE', url: `/fhir/AuditEvent/${one.id}`, as }), 405, 'not-supported');
    assertIssue(
      t,
      await app.request({ method: 'PATCH', url: `/fhir/AuditEvent/${one.id}`, as, headers: { 'content-type': 'application/json-patch+json' }, body: '[]' }),
      405,
      'not-supported'
    );
  }
  const everything = `Bearer ${await tokenFor(app.app, 'admin', { scope: 'system/*.cruds system/AuditEvent.cruds' })}`;
  assertIssue(t, await app.request({ method: 'DELETE', url: `/fhir/AuditEvent/${one.id}`, headers: { authorization: everything } }), 405, 'not-supported');
  t.equal((await app.request({ method: 'GET', url: `/fhir/AuditEvent/${one.id}`, as: 'auditor' })).json().outcome, one.outcome, 'unchanged');

  const created = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'physio', body: observation('', 'p-vis', { id: undefined }) });
  const id = created.json().id as string;
  await app.request({ method: 'PUT', url: `/fhir/Observation/${id}`, as: 'physio', body: observation(id, 'p-vis', { status: 'amended' }) });
  const provenance = (await app.request({ method: 'GET', url: `/fhir/Provenance?target=Observation/${id}&_sort=_lastUpdated`, as: 'physio' })).json();
  t.same(
    provenance.entry.map((e: any) => e.resource.target[0].reference),
    [`Observation/${id}/_history/1`, `Observation/${id}/_history/2`],
    'one Provenance per version, naming the exact version'
  );
  const [first] = provenance.entry.map((e: any) => e.resource);
  t.equal(first.activity.coding[0].code, 'CREATE');
  const author = first.agent.find((a: any) => a.type.coding[0].code === 'author');
  t.equal(author.who.reference, 'Practitioner/t-physio-pract', 'the practitioner');
  t.equal(author.onBehalfOf.reference, 'Organization/t-physio', 'on behalf of the organisation');
  t.equal(first.recorded, (await app.request({ method: 'GET', url: `/fhir/Observation/${id}/_history/1` })).json().meta.lastUpdated);
  const bySystem = (await app.request({ method: 'GET', url: '/fhir/Provenance?target=Observation/obs-vis' })).json().entry[0].resource;
  t.equal(bySystem.agent[0].who.identifier.value, 'admin', 'a system client is the agent of its writes');
});

t.test(`break-the-glass is allowed for configured roles, audited with its reason and reported on ${engine}`, async (t) => {
  const app = await createTestApp(t, { BREAK_THE_GLASS_ROLES: '01.042' });
  await careScenario(app);
  t.equal((await app.request({ method: 'GET', url: '/fhir/Observation/obs-kok', as: 'rehab' })).statusCode, 404, 'no care relation');
  const emergency = `Bearer ${await tokenFor(app.app, 'rehab', { emergency: 'Opname na val, huisarts onbereikbaar' })}`;
  const read = await app.request({ method: 'GET', url: '/fhir/Observation/obs-kok', headers: { authorization: emergency } });
  t.equal(read.statusCode, 200, 'emergency access opens the record');
  const gpEmergency = `Bearer ${await tokenFor(app.app, 'gp', { emergency: 'test' })}`;
  t.equal((await app.request({ method: 'GET', url: '/fhir/Observation/obs-kok', headers: { authorization: gpEmergency } })).statusCode, 401, 'not for roles outside the configuration');

  const report = await events(app, '_security=http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG');
  t.equal(report.length, 1, 'the break-the-glass report lists the emergency access');
  t.equal(report[0].purposeOfEvent[0].coding[0].code, 'BTG');
  t.equal(report[0].purposeOfEvent[0].text, 'Opname na val, huisarts onbereikbaar', 'with its reason');
  t.same(entityRefs(report[0]), ['Observation/obs-kok/_history/1', 'Patient/p-kok']);
  t.equal(requestor(report[0]).who.identifier.value, '999990005');
});
