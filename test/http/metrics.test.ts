import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { tokenFor } from '../helpers/auth.js';
import { sample } from '../helpers/prometheus.js';

const TOKEN = 'metrics-test-token-0123456789';
const BSN = '999911120';

t.test(`/metrics counts requests by interaction, type and status, behind its token, on ${engine}`, async (t) => {
  const { app, request, database } = await createTestApp(t, { METRICS_TOKEN: TOKEN });
  // A consumer that cannot keep up: its position stays where it registered.
  await app.resourceEvents.register({
    name: 'metrics-test-stuck',
    handle: async () => {
      throw new Error('not now');
    },
  });
  const scrape = async (): Promise<string> =>
    (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).body;
  const auditedBefore = sample(await scrape(), 'schakel_audit_commit_batch_size_sum') ?? 0;
  const [registered] = await database.db.query<{ last: string | number }>('SELECT last FROM event_counter');

  const created = await request({
    method: 'POST',
    url: '/fhir/Patient',
    body: { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: BSN }], name: [{ family: 'Metriek' }] },
  });
  t.equal(created.statusCode, 201);
  const id = created.json().id as string;
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${id}` })).statusCode, 200);
  t.equal((await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN}` })).statusCode, 200);
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/no-such-patient' })).statusCode, 404);
  t.equal((await request({ method: 'GET', url: '/fhir/NoSuchType/1' })).statusCode, 404);
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${id}`, headers: { authorization: '' } })).statusCode, 401);

  const missing = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(missing.statusCode, 401, 'no token: refused');
  t.equal(missing.json().resourceType, 'OperationOutcome');
  t.equal(missing.json().issue[0].code, 'login');
  t.match(missing.headers['www-authenticate'], /^Bearer/);
  const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } });
  t.equal(wrong.statusCode, 401, 'a wrong token: refused');
  t.equal(wrong.json().issue[0].code, 'security');
  const fhirToken = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${await tokenFor(app, 'admin')}` } });
  t.equal(fhirToken.statusCode, 401, 'a FHIR access token is not the metrics token');

  const scraped = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(scraped.statusCode, 200);
  t.match(scraped.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = scraped.body;
  const requests = (interaction: string, resourceType: string, status: string) =>
    sample(text, 'schakel_http_requests_total', { interaction, resource_type: resourceType, status });
  t.equal(requests('create', 'Patient', '201'), 1, 'the create');
  t.equal(requests('read', 'Patient', '200'), 1, 'the read');
  t.equal(requests('search-type', 'Patient', '200'), 1, 'the search');
  t.equal(requests('read', 'Patient', '404'), 1, 'the read of a missing patient');
  t.equal(requests('read', 'Patient', '401'), 1, 'a read refused before routing is still a read');
  t.equal(requests('none', 'none', '404'), 1, 'an unknown type is no label value of its own');
  t.notMatch(text, /NoSuchType/, 'unknown type names never become labels');
  t.equal(sample(text, 'schakel_http_request_duration_seconds_count', { interaction: 'read', resource_type: 'Patient' }), 3, 'the histogram holds the three reads');
  t.equal(sample(text, 'schakel_http_request_duration_seconds_bucket', { le: '+Inf', interaction: 'read', resource_type: 'Patient' }), 3);
  t.ok((sample(text, 'schakel_audit_commit_batch_size_count') ?? 0) >= 1, 'the reads went through the audit group commit');
  t.equal(
    (sample(text, 'schakel_audit_commit_batch_size_sum') ?? 0) - auditedBefore,
    4,
    'the read, the search, the 404 and the failed login each had their audit record in a batch'
  );
  t.equal(sample(text, 'schakel_db_waiting_statements'), 0, 'nothing waits for the database now');
  if (engine === 'postgres') {
    t.ok((sample(text, 'schakel_db_pool_connections', { state: 'idle' }) ?? 0) >= 1, 'the pool has idle connections');
    t.type(sample(text, 'schakel_db_pool_connections', { state: 'in_use' }), 'number');
  } else {
    t.equal(sample(text, 'schakel_db_pool_connections', { state: 'idle' }), undefined, 'PGlite has no pool');
  }
  const [now] = await database.db.query<{ last: string | number }>('SELECT last FROM event_counter');
  const behind = Number(now?.last) - Number(registered?.last);
  t.ok(behind > 0, 'the create wrote change events');
  t.equal(sample(text, 'schakel_event_consumer_lag', { consumer: 'metrics-test-stuck' }), behind, 'the stuck consumer lags by the events since it registered');
  t.type(sample(text, 'process_cpu_user_seconds_total'), 'number', 'default process metrics');
  t.notMatch(text, new RegExp(`${id}|${BSN}|Metriek`), 'no ids or patient data');
});

t.test(`request log lines carry the client id and the interaction, and /metrics is open in development, on ${engine}`, async (t) => {
  const lines: string[] = [];
  const { request, app } = await createTestApp(t, { LOG_LEVEL: 'info' }, { logStream: { write: (line) => lines.push(line) } });
  const created = await request({
    method: 'POST',
    url: '/fhir/Patient',
    body: { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999990019' }], name: [{ family: 'Logboeknaam' }] },
  });
  const id = created.json().id as string;
  await request({ method: 'GET', url: `/fhir/Patient/${id}`, as: 'gp' });
  await request({ method: 'GET', url: '/fhir/Patient?identifier=999990019&name=Logboeknaam' });
  const open = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(open.statusCode, 200, 'open without METRICS_TOKEN in development');
  t.match(open.body, /schakel_http_requests_total/);

  const completed = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request completed');
  t.match(completed[0], { clientId: 'admin', interaction: 'create', resourceType: 'Patient', status: 201 });
  t.match(completed[1], { clientId: 'gp', interaction: 'read', resourceType: 'Patient' });
  t.match(completed[2], { clientId: 'admin', interaction: 'search-type', resourceType: 'Patient', status: 200 });
  t.match(completed[3], { interaction: 'none', status: 200 }, 'a request outside FHIR has its line too');
  t.notOk('clientId' in (completed[3] as object), 'no client without a token');
  const refused = await request({ method: 'DELETE', url: `/fhir/Patient/${id}`, headers: { authorization: 'Bearer not-a-token' } });
  t.equal(refused.statusCode, 401);
  const last = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request completed').at(-1);
  t.match(last, { interaction: 'delete', resourceType: 'Patient', status: 401 }, 'a request refused before routing names its interaction');
  t.notOk('clientId' in (last as object), 'and no client: the token named none');
  const all = lines.join('\n');
  t.notMatch(all, /999990019/, 'no BSN');
  t.notMatch(all, /Logboeknaam/, 'no names');
  t.notMatch(all, new RegExp(id), 'no ids');
  t.notMatch(all, /identifier=/, 'no query strings');
});

t.test(`/metrics is absent in production without METRICS_TOKEN, on ${engine}`, async (t) => {
  const { app } = await createTestApp(t, { SCHAKEL_MODE: 'production' });
  const hidden = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(hidden.statusCode, 404);
  t.equal(hidden.json().issue[0].code, 'not-found');
});
