// A patient's objection to sharing (Consent, deny provision) narrows like a missing care relation, through every path.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { tokenFor, type DemoName } from '../helpers/auth.js';
import { careScenario, careTeam, observation, ORGS, ROLES } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';
import { put, type Json } from '../helpers/search.js';

const ids = (body: Json, mode = 'match'): string[] =>
  (body.entry ?? []).filter((e: Json) => e.search?.mode === mode).map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`).sort();

const PARTICIPANT_ROLE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };

/** An objection recorded by the GP practice: `actors` (references) denied, or everyone when empty. */
function objection(id: string, patient: string, actors: readonly string[], extra: Json = {}, provision: Json = {}): Json {
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    dateTime: '2024-05-01',
    organization: [{ reference: `Organization/${ORGS.gp}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
    provision: { type: 'deny', ...(actors.length > 0 ? { actor: actors.map((reference) => ({ role: PARTICIPANT_ROLE, reference: { reference } })) } : {}), ...provision },
    ...extra,
  };
}

/** A patient of the GP practice with a care team of `members` and one Observation `obs-<id>`. */
async function patientInCare(app: TestApp, id: string, members: ReadonlyArray<keyof typeof ROLES>): Promise<void> {
  await put(app, { resourceType: 'Patient', id, name: [{ family: id }], managingOrganization: { reference: `Organization/${ORGS.gp}` } });
  await put(app, careTeam(`ct-${id}`, id, members));
  await put(app, observation(`obs-${id}`, id));
}

t.test(`objections to sharing on ${engine}`, async (t) => {
  const app = await createTestApp(t, { BREAK_THE_GLASS_ROLES: '01.042' });
  await careScenario(app);
  const get = (as: DemoName, url: string) => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  const record = async (as: DemoName, consent: Json): Promise<void> => {
    const written = await app.request({ method: 'PUT', url: `/fhir/Consent/${consent.id as string}`, body: consent, as });
    t.ok([200, 201].includes(written.statusCode), `${as} records Consent/${consent.id as string}: ${written.statusCode}`);
  };

  t.test('against an organisation: hidden on every read path, as without a care relation', async (t) => {
    await patientInCare(app, 'p-org', ['gp', 'physio', 'nurse']);
    // A patient the physio keeps seeing, whose Observations link to and from the objecting patient's.
    await patientInCare(app, 'p-org-other', ['physio']);
    await put(app, observation('obs-org-link', 'p-org-other', { derivedFrom: [{ reference: 'Observation/obs-p-org' }] }));
    await put(app, observation('obs-org-back', 'p-org', { derivedFrom: [{ reference: 'Observation/obs-org-link' }] }));
    const include = 'Observation?_id=obs-org-link&_include=Observation:derived-from';
    const revinclude = 'Observation?_id=obs-org-link&_revinclude=Observation:derived-from';
    t.equal((await get('physio', 'Observation/obs-p-org')).statusCode, 200, 'before: the care team sees the record');
    t.same(ids((await get('physio', include)).json(), 'include'), ['Observation/obs-p-org']);
    t.same(ids((await get('physio', revinclude)).json(), 'include'), ['Observation/obs-org-back']);

    await record('gp', objection('consent-org', 'p-org', [`Organization/${ORGS.physio}`]));

    const missing = await get('physio', 'Observation/nothing-here');
    for (const url of ['Observation/obs-p-org', 'Observation/obs-p-org/_history/1', 'Observation/obs-p-org/_history', 'Patient/p-org', 'Patient/p-org/_history', 'Consent/consent-org', 'Patient/p-org/$everything']) {
      const hidden = await get('physio', url);
      t.equal(hidden.statusCode, 404, `${url} is hidden`);
      t.equal(hidden.json().issue[0].code, missing.json().issue[0].code, `${url} answers as a missing resource`);
    }
    t.same(ids((await get('physio', 'Observation?subject=Patient/p-org')).json()), [], 'search is empty');
    t.equal((await get('physio', 'Observation?subject=Patient/p-org&_total=accurate')).json().total, 0);
    t.same(ids((await get('physio', 'Patient?_id=p-org')).json()), [], 'the patient is not found');
    t.same(ids((await get('physio', 'Patient/p-org/Observation')).json()), [], 'compartment search is empty');
    t.same(ids((await get('physio', include)).json()), ['Observation/obs-org-link'], 'the other patient stays visible');
    t.same(ids((await get('physio', include)).json(), 'include'), [], '_include leaves it out');
    t.same(ids((await get('physio', revinclude)).json(), 'include'), [], '_revinclude leaves it out');
    const history = (await get('physio', 'Observation/_history?_count=500')).json();
    t.notOk(history.entry.some((e: Json) => e.resource?.subject?.reference === 'Patient/p-org'), 'type history leaves it out');
    t.ok(history.entry.some((e: Json) => e.resource?.id === 'obs-org-link'));
    const { id: _id, ...unsaved } = observation('x', 'p-org');
    const write = await app.request({ method: 'POST', url: '/fhir/Observation', body: unsaved, as: 'physio' });
    assertIssue(t, write, 422, 'not-found');

    t.equal((await get('nurse', 'Observation/obs-p-org')).statusCode, 200, 'another organisation of the care team still sees it');
    t.equal((await get('gp', 'Patient/p-org/$everything')).statusCode, 200, 'and the GP');
    t.same(ids((await get('admin', include)).json(), 'include'), ['Observation/obs-p-org'], 'the integration engine is bound by its scopes');
  });

  t.test('against a practitioner, also named by a PractitionerRole', async (t) => {
    await patientInCare(app, 'p-pract', ['gp', 'physio', 'nurse']);
    await record('gp', objection('consent-pract', 'p-pract', ['Practitioner/t-nurse-pract']));
    t.equal((await get('nurse', 'Observation/obs-p-pract')).statusCode, 404, 'the practitioner is denied');
    t.same(ids((await get('nurse', 'Observation?subject=Patient/p-pract')).json()), []);
    t.equal((await get('nurse', 'Patient/p-pract/$everything')).statusCode, 404);
    t.equal((await get('physio', 'Observation/obs-p-pract')).statusCode, 200, 'others are not');

    await patientInCare(app, 'p-role', ['gp', 'physio', 'nurse']);
    await record('gp', objection('consent-role', 'p-role', [`PractitionerRole/${ROLES.physio}`]));
    t.equal((await get('physio', 'Observation/obs-p-role')).statusCode, 404, 'the practitioner of the role is denied');
    t.equal((await get('nurse', 'Observation/obs-p-role')).statusCode, 200);
  });

  t.test('against everyone: all but the GP practice that recorded it', async (t) => {
    await patientInCare(app, 'p-all', ['gp', 'physio', 'nurse']);
    await record('gp', objection('consent-all', 'p-all', []));
    for (const who of ['physio', 'nurse'] as const) {
      t.equal((await get(who, 'Observation/obs-p-all')).statusCode, 404, `${who} is denied`);
      t.same(ids((await get(who, 'Observation?subject=Patient/p-all')).json()), []);
    }
    t.equal((await get('gp', 'Observation/obs-p-all')).statusCode, 200, 'the GP keeps the record');
    t.equal((await get('gp', 'Consent/consent-all')).statusCode, 200, 'and the objection');

    // A nested permit names who may still see it (R4 consent.html: deny all, permit some).
    await record('gp', objection('consent-all', 'p-all', [], {}, { provision: [{ type: 'permit', actor: [{ role: PARTICIPANT_ROLE, reference: { reference: `Organization/${ORGS.nurse}` } }] }] }));
    t.equal((await get('nurse', 'Observation/obs-p-all')).statusCode, 200, 'the permitted organisation sees it');
    t.equal((await get('physio', 'Observation/obs-p-all')).statusCode, 404, 'the rest does not');
  });

  t.test('an objection that is no longer active, out of its period, or deleted, is lifted', async (t) => {
    await patientInCare(app, 'p-lift', ['gp', 'physio']);
    const consent = objection('consent-lift', 'p-lift', [`Organization/${ORGS.physio}`]);
    await record('gp', consent);
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 404);
    await record('gp', { ...consent, status: 'inactive' });
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 200, 'inactive: lifted');
    await record('gp', consent);
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 404, 'active again');
    await record('gp', objection('consent-lift', 'p-lift', [`Organization/${ORGS.physio}`], {}, { period: { start: '2020-01-01', end: '2021-12-31' } }));
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 200, 'its period has ended');
    await record('gp', objection('consent-lift', 'p-lift', [`Organization/${ORGS.physio}`], {}, { period: { start: '2020-01-01', end: '2999-12-31' } }));
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 404, 'within its period');
    t.equal((await get('gp', 'Consent/consent-lift')).statusCode, 200);
    t.equal((await app.request({ method: 'DELETE', url: '/fhir/Consent/consent-lift' })).statusCode, 200);
    t.equal((await get('physio', 'Observation/obs-p-lift')).statusCode, 200, 'deleted: lifted');
    t.equal((await get('physio', 'Consent/consent-lift')).statusCode, 410, 'the deleted Consent is gone');
  });

  t.test('break-the-glass overrides it and is audited with the reason', async (t) => {
    await patientInCare(app, 'p-btg', ['gp', 'rehab']);
    await record('gp', objection('consent-btg', 'p-btg', [`Organization/${ORGS.rehab}`]));
    t.equal((await get('rehab', 'Observation/obs-p-btg')).statusCode, 404, 'denied');
    const reason = 'Opname na val, huisarts onbereikbaar';
    const emergency = `Bearer ${await tokenFor(app.app, 'rehab', { emergency: reason })}`;
    const read = await app.request({ method: 'GET', url: '/fhir/Observation/obs-p-btg', headers: { authorization: emergency } });
    t.equal(read.statusCode, 200, 'emergency access opens the record');
    const events = await app.request({ method: 'GET', url: '/fhir/AuditEvent?_security=http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG&_count=100', as: 'auditor' });
    t.equal(events.statusCode, 200);
    const event = events.json().entry.map((e: Json) => e.resource).find((e: Json) => e.entity.some((x: Json) => x.what?.reference === 'Observation/obs-p-btg/_history/1'));
    t.ok(event, 'the emergency read is in the break-the-glass report');
    t.equal(event?.purposeOfEvent[0].coding[0].code, 'BTG');
    t.equal(event?.purposeOfEvent[0].text, reason, 'with its reason');
  });

  t.test('objections it cannot enforce are refused, not stored', async (t) => {
    await patientInCare(app, 'p-bad', ['gp']);
    const careTeamActor = await app.request({ method: 'PUT', url: '/fhir/Consent/consent-bad', body: objection('consent-bad', 'p-bad', ['CareTeam/ct-p-bad']), as: 'gp' });
    assertIssue(t, careTeamActor, 422, 'not-supported', 'Consent.provision.actor[0].reference');
    const unknown = objection('consent-bad', 'p-bad', []);
    unknown.provision.actor = [{ role: PARTICIPANT_ROLE, reference: { identifier: { system: 'http://fhir.nl/fhir/NamingSystem/ura', value: '99999999' } } }];
    assertIssue(t, await app.request({ method: 'PUT', url: '/fhir/Consent/consent-bad', body: unknown, as: 'gp' }), 422, 'not-found');
    t.equal((await get('gp', 'Consent/consent-bad')).statusCode, 404, 'nothing was stored');
    const other = objection('consent-bad', 'p-bad', [`Organization/${ORGS.physio}`], { scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'treatment' }] } });
    t.equal((await app.request({ method: 'PUT', url: '/fhir/Consent/consent-bad', body: other, as: 'gp' })).statusCode, 201, 'a Consent of another scope is stored as before');
  });

  t.test('an organisation named by its URA is denied like one named by reference', async (t) => {
    await patientInCare(app, 'p-ura', ['gp', 'nurse']);
    t.equal((await get('nurse', 'Patient/p-ura')).statusCode, 200, 'in care before the objection');
    const byIdentifier = objection('consent-ura', 'p-ura', []);
    byIdentifier.provision.actor = [{ role: PARTICIPANT_ROLE, reference: { identifier: { system: 'http://fhir.nl/fhir/NamingSystem/ura', value: '90000003' } } }];
    t.equal((await app.request({ method: 'PUT', url: '/fhir/Consent/consent-ura', body: byIdentifier, as: 'gp' })).statusCode, 201);
    t.equal((await get('nurse', 'Patient/p-ura')).statusCode, 404, 'the home-care organisation (URA 90000003) no longer sees the patient');
    t.equal((await get('gp', 'Patient/p-ura')).statusCode, 200, 'the GP still does');
  });

  t.test('the CapabilityStatement describes it', async (t) => {
    const statement = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const consent = statement.rest[0].resource.find((r: Json) => r.type === 'Consent');
    t.match(consent.documentation, /deny/);
  });
});
