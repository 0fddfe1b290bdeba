// The audit log as its own store (storage/migrations/013_audit_log.sql): AuditEvent read and search over it, paging, retention, write failures.
import t from 'tap';
import { maintainAuditLog } from '../../src/audit/audit-retention.js';
import { toAuditEvent } from '../../src/audit/audit-event.js';
import { auditRecord } from '../../src/audit/audit-record.js';
import { serverPrincipal } from '../../src/auth/principal.js';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario, observation } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';

const UZI = 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers';
const AGB = 'http://fhir.nl/fhir/NamingSystem/agb-z';

async function search(app: TestApp, query: string): Promise<any> {
  const response = await app.request({ method: 'GET', url: `/fhir/AuditEvent?${query}`, as: 'auditor' });
  t.equal(response.statusCode, 200, `${query} ${response.statusCode === 200 ? '' : response.body}`);
  return response.json();
}

async function ids(app: TestApp, query: string): Promise<string[]> {
  return ((await search(app, `${query}&_count=100`)).entry ?? []).map((e: any) => e.resource.id as string);
}

const read = (app: TestApp, url: string, as: 'gp' | 'physio' | 'nurse' = 'gp') => app.request({ method: 'GET', url: `/fhir/${url}`, as });

t.test(`AuditEvent read and search over the audit log on ${engine}`, async (t) => {
  const app = await createTestApp(t, { BREAK_THE_GLASS_ROLES: '01.042' });
  await careScenario(app);
  const db = app.database.db;

  t.test('no resource, history or search-index rows for audit records', async (t) => {
    t.equal((await read(app, 'Patient/p-vis', 'physio')).statusCode, 200);
    const tables = ['resource', 'resource_history', 'search_token', 'search_string', 'search_date', 'search_reference', 'search_uri', 'search_number', 'search_quantity'];
    for (const table of tables) {
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE resource_type = 'AuditEvent'`);
      t.equal(row?.n, 0, `no AuditEvent rows in ${table}`);
    }
    const [logged] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE 'p-vis' = ANY(patients) AND event = 'read'`);
    t.ok((logged?.n ?? 0) >= 1, 'the read is a row of audit_log');
  });

  t.test('the request id is kept with the record', async (t) => {
    const response = await app.request({ method: 'GET', url: '/fhir/Observation/obs-vis', as: 'nurse', headers: { 'x-request-id': 'audit-log-req-1' } });
    t.equal(response.statusCode, 200);
    const rows = await db.query<{ resources: string[] }>(`SELECT resources FROM audit_log WHERE request_id = 'audit-log-req-1'`);
    t.same(rows.map((r) => r.resources), [['Observation/obs-vis/_history/1']]);
  });

  t.test('read, vread and history of one AuditEvent; version 1 only', async (t) => {
    t.equal((await read(app, 'Observation/obs-kok')).statusCode, 200);
    const [id] = await ids(app, 'entity=Observation/obs-kok/_history/1&subtype=read&_sort=-date');
    t.ok(id);
    const one = await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}`, as: 'auditor' });
    t.equal(one.statusCode, 200);
    t.equal(one.headers['etag'], 'W/"1"');
    const event = one.json();
    t.equal(event.meta.versionId, '1');
    t.equal(event.subtype[0].code, 'read');
    t.same(event.entity.filter((e: any) => e.what).map((e: any) => e.what.reference), ['Patient/p-kok', 'Observation/obs-kok/_history/1']);
    const v1 = await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}/_history/1`, as: 'auditor' });
    t.same(v1.json(), event, 'vread 1 is the event');
    assertIssue(t, await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}/_history/2`, as: 'auditor' }), 404, 'not-found');
    const history = (await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}/_history`, as: 'auditor' })).json();
    t.equal(history.type, 'history');
    t.same(history.entry.map((e: any) => e.resource), [event]);
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent/00000000-0000-4000-8000-000000000000', as: 'auditor' }), 404, 'not-found');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent/not-a-uuid', as: 'auditor' }), 404, 'not-found');
    t.equal((await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}` })).statusCode, 403, 'system/*.cruds does not read the log');
    const ifNoneMatch = await app.request({ method: 'GET', url: `/fhir/AuditEvent/${id}`, as: 'auditor', headers: { 'if-none-match': 'W/"1"' } });
    t.equal(ifNoneMatch.statusCode, 304);
  });

  t.test('each search parameter', async (t) => {
    const since = new Date().toISOString();
    t.equal((await read(app, 'Patient/p-vis', 'physio')).statusCode, 200);
    const created = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'nurse', body: observation('', 'p-vis', { id: undefined }) });
    t.equal(created.statusCode, 201);
    const obs = created.json().id as string;
    t.equal((await read(app, 'Observation/obs-kok', 'physio')).statusCode, 404, 'a refusal');
    t.equal((await app.request({ method: 'GET', url: '/fhir/Observation?subject=Patient/p-vis', as: 'physio' })).statusCode, 200);
    // Bounded at both ends: the searches below are audited too.
    const until = new Date(Date.now() + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const after = `date=ge${encodeURIComponent(since)}&date=lt${encodeURIComponent(until)}`;
    const all = await ids(app, after);
    t.equal(all.length, 4, 'date: the four requests since the start');
    t.same(await ids(app, `date=lt${encodeURIComponent(since)}&_id=${all.join(',')}`), [], 'date lt excludes them');

    const [readEvent] = await ids(app, `${after}&patient=Patient/p-vis&subtype=read`);
    const [createEvent] = await ids(app, `${after}&action=C`);
    const [refusal] = await ids(app, `${after}&outcome=4`);
    const [searchEvent] = await ids(app, `${after}&subtype=search-type`);
    t.ok(readEvent && createEvent && refusal && searchEvent, 'subtype, action and outcome each find their event');
    t.equal(new Set([readEvent, createEvent, refusal, searchEvent]).size, 4);
    t.same((await ids(app, `${after}&patient=p-vis`)).sort(), [readEvent, createEvent, searchEvent].sort(), 'patient: every request about p-vis');
    t.same(await ids(app, `${after}&patient=Patient/p-kok`), [refusal], 'patient: the refused read is in p-kok\'s access log');
    const withObs = [createEvent, searchEvent].sort();
    t.same((await ids(app, `${after}&entity=Observation/${obs}`)).sort(), withObs, 'entity without version: its creation and the search that returned it');
    t.same((await ids(app, `${after}&entity=Observation/${obs}/_history/1`)).sort(), withObs, 'entity with version');
    t.same(await ids(app, `${after}&entity=Observation/${obs}/_history/2`), [], 'another version does not match');
    t.same(await ids(app, `${after}&entity=Patient/p-kok`), [refusal], 'entity: a patient');
    t.same((await ids(app, `${after}&agent=Practitioner/t-physio-pract`)).sort(), [readEvent, refusal, searchEvent].sort(), 'agent by reference');
    t.same(await ids(app, `${after}&agent:identifier=${encodeURIComponent(`${UZI}|999990004`)}`), [createEvent], 'agent by identifier (the nurse)');
    t.same((await ids(app, `${after}&agent:identifier=${encodeURIComponent(`${AGB}|04099001`)}`)).sort(), [readEvent, refusal, searchEvent].sort(), 'agent by organisation identifier');
    t.same(await ids(app, `${after}&agent:identifier=${encodeURIComponent('urn:ietf:params:oauth:client-id|nurse')}`), [createEvent], 'agent by client id');
    t.same((await ids(app, `${after}&type=rest`)).length, 4, 'type rest');
    t.same(await ids(app, `${after}&type=http://dicom.nema.org/resources/ontology/DCM|110114`), [], 'type login');
    t.same(await ids(app, `${after}&outcome=0&action=R&subtype=read`), [readEvent]);
    t.same(await ids(app, `${after}&_security=http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG`), [], 'no break-the-glass since');
    const counted = await search(app, `${after}&_summary=count`);
    t.equal(counted.total, 4, '_summary=count');
    t.notOk(counted.entry);
    t.equal((await search(app, `${after}&_total=accurate&_count=1`)).total, 4, '_total=accurate');

    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent?agent-name=Kok', as: 'auditor' }), 400, 'not-supported', 'agent-name');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent?_include=AuditEvent:agent', as: 'auditor' }), 400, 'not-supported', '_include');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent?date=gisteren', as: 'auditor' }), 400, 'invalid');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent?_cursor=bogus', as: 'auditor' }), 400, 'invalid');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/AuditEvent?patient:identifier=x', as: 'auditor' }), 400, 'not-supported');
  });

  t.test('the patient compartment reads the log; type and system history and _type=AuditEvent answer 400', async (t) => {
    t.equal((await read(app, 'Patient/p-kok')).statusCode, 200);
    const compartment = await app.request({ method: 'GET', url: '/fhir/Patient/p-kok/AuditEvent?subtype=read&_count=100', as: 'auditor' });
    t.equal(compartment.statusCode, 200);
    const inCompartment = (compartment.json().entry ?? []).map((e: any) => e.resource.id as string).sort();
    t.ok(inCompartment.length >= 1, 'the read of the patient is in its compartment');
    t.same(inCompartment, (await ids(app, 'patient=Patient/p-kok&subtype=read')).sort(), 'the same as AuditEvent?patient=');
    for (const url of ['/fhir/AuditEvent/_history', '/fhir/?_type=AuditEvent', '/fhir/Practitioner/x/AuditEvent']) {
      const response = await app.request({ method: 'GET', url, as: 'auditor' });
      t.equal(response.statusCode, 400, `${url} is refused, not an empty list`);
    }
  });

  t.test('the CapabilityStatement lists what the audit log answers', async (t) => {
    const statement = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const entry = statement.rest[0].resource.find((r: any) => r.type === 'AuditEvent');
    t.same(entry.interaction.map((i: any) => i.code).sort(), ['history-instance', 'read', 'search-type', 'vread']);
    const names = entry.searchParam.map((p: any) => p.name);
    for (const name of ['date', 'patient', 'entity', 'agent', 'type', 'subtype', 'action', 'outcome']) {
      t.ok(names.includes(name), name);
    }
    t.notOk(names.includes('agent-name'), 'not what it answers 400 to');
  });

  t.test('failed logins are searchable', async (t) => {
    const since = new Date().toISOString();
    const refused = await app.request({ method: 'GET', url: '/fhir/Patient/p-kok', headers: { authorization: 'Bearer not-a-token' } });
    t.equal(refused.statusCode, 401);
    const logins = (await search(app, `date=ge${encodeURIComponent(since)}&type=http://dicom.nema.org/resources/ontology/DCM|110114&outcome=4`)).entry ?? [];
    t.equal(logins.length, 1);
    t.equal(logins[0].resource.subtype[0].code, '110122');
  });

  t.test('pages by date, newest or oldest first, with next links', async (t) => {
    const since = new Date().toISOString();
    for (let i = 0; i < 5; i++) {
      t.equal((await read(app, 'Observation/obs-vis', 'physio')).statusCode, 200);
    }
    for (const sort of ['-date', 'date']) {
      const seen: any[] = [];
      let url: string | undefined = `/fhir/AuditEvent?date=ge${encodeURIComponent(since)}&entity=Observation/obs-vis&_sort=${sort}&_count=2`;
      let pages = 0;
      while (url !== undefined) {
        const page: any = (await app.request({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, ''), as: 'auditor' })).json();
        t.ok(page.entry.length <= 2);
        seen.push(...page.entry.map((e: any) => e.resource));
        url = page.link.find((l: any) => l.relation === 'next')?.url;
        pages++;
      }
      t.equal(pages, 3, `${sort}: three pages of two`);
      t.equal(new Set(seen.map((e) => e.id)).size, 5, `${sort}: each read once`);
      const times = seen.map((e) => Date.parse(e.recorded));
      const ordered = [...times].sort((a, b) => (sort === 'date' ? a - b : b - a));
      t.same(times, ordered, `${sort}: in order`);
    }
  });

  t.test('AuditEvents stored as resources by older versions move into the log unchanged', async (t) => {
    const record = auditRecord({ event: 'read', action: 'R', principal: serverPrincipal('old-engine'), address: '10.0.0.9', resourceType: 'Patient' });
    record.status = 200;
    record.entities.push('Patient/p-old/_history/3');
    record.patients.add('p-old');
    const old = toAuditEvent({ ...record, recorded: new Date('2023-03-04T05:06:07.089Z') }, '6f1c7c9e-1b7e-4d7b-9c61-4c1c1c0a0b01', app.app.fhirContext.auditTrail.site);
    await db.query(`INSERT INTO resource (resource_type, id, version_id, last_updated, content) VALUES ('AuditEvent', $1, 1, $2, $3)`, [old.id, old.recorded, JSON.stringify(old)]);
    const [moved] = await db.query<{ n: number }>('SELECT audit_log_import_resources() AS n');
    t.equal(moved?.n, 1);
    const response = await app.request({ method: 'GET', url: `/fhir/AuditEvent/${old.id as string}`, as: 'auditor' });
    t.same(response.json(), old, 'rendered as it was stored');
    t.same(await ids(app, `patient=Patient/p-old&agent:identifier=${encodeURIComponent('urn:ietf:params:oauth:client-id|old-engine')}`), [old.id]);
    const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'AuditEvent'`);
    t.equal(left?.n, 0);
    const [partition] = await db.query<{ name: string }>(`SELECT tableoid::regclass::text AS name FROM audit_log WHERE id = $1`, [old.id]);
    t.equal(partition?.name, 'audit_log_p202303', 'in its month partition, not the default');
  });

  t.test('retention drops whole month partitions older than AUDIT_RETENTION_MONTHS', async (t) => {
    const now = new Date();
    await db.query(`SELECT audit_log_partition('2019-01-10')`);
    await db.query(
      `INSERT INTO audit_log (id, recorded, event, action, outcome, agent, patients, resources) VALUES (gen_random_uuid(), '2019-01-15T10:00:00Z', 'read', 'R', 0, 0, '{p-ret}', '{}')`
    );
    t.equal((await read(app, 'Patient/p-vis', 'physio')).statusCode, 200);
    const current = async (): Promise<number> =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE recorded >= date_trunc('month', now())`))[0]?.n ?? 0;
    const before = await current();
    t.ok(before > 0);
    t.same((await maintainAuditLog(db, 0, now)).dropped, [], '0 keeps everything');
    const result = await maintainAuditLog(db, 60, now);
    t.ok(result.ran);
    t.ok(result.dropped.includes('audit_log_p201901'), 'the 2019 month is gone');
    t.notOk(result.dropped.includes('audit_log_p202303'), 'a month within five years stays');
    const [gone] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE 'p-ret' = ANY(patients)`);
    t.equal(gone?.n, 0);
    t.equal(await current(), before, "this month's records remain");
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const name = `audit_log_p${next.getUTCFullYear()}${String(next.getUTCMonth() + 1).padStart(2, '0')}`;
    const [ahead] = await db.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [name]);
    t.equal(ahead?.name, name, "next month's partition is made ahead");
  });

  t.test('the log is append-only in the database too', async (t) => {
    await t.rejects(db.query(`UPDATE audit_log SET outcome = 0 WHERE outcome = 4`));
    await t.rejects(db.query(`DELETE FROM audit_log WHERE outcome = 4`));
  });

  t.test('when the audit record cannot be written: 503 and no data', async (t) => {
    await db.exec(`CREATE FUNCTION audit_log_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
      CREATE TRIGGER audit_log_test_refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_test_refuse();`);
    try {
      const readResponse = await read(app, 'Patient/p-kok');
      assertIssue(t, readResponse, 503, 'transient');
      t.ok(readResponse.headers['retry-after'], 'with Retry-After');
      t.notOk(readResponse.body.includes('Kok'), 'no patient data');
      const searchResponse = await app.request({ method: 'GET', url: '/fhir/Observation?subject=Patient/p-kok', as: 'gp' });
      assertIssue(t, searchResponse, 503, 'transient');
      const created = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'gp', body: observation('', 'p-kok', { id: undefined, status: 'preliminary' }) });
      assertIssue(t, created, 503, 'transient');
      const [stored] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Observation' AND content LIKE '%preliminary%'`);
      t.equal(stored?.n, 0, 'the write rolled back with its audit record');
    } finally {
      await db.exec('DROP TRIGGER audit_log_test_refuse ON audit_log; DROP FUNCTION audit_log_test_refuse();');
    }
    t.equal((await read(app, 'Patient/p-kok')).statusCode, 200, 'and works again after');
  });
});
