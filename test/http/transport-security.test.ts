// Transport security (docs/security.md): security headers, CORS for the allow-list only, rate limit per client system.
import t from 'tap';
import { createTestApp } from '../helpers/app.js';

t.test('security headers on every answer', async (t) => {
  const { request } = await createTestApp(t);
  for (const url of ['/fhir/metadata', '/fhir/Patient/none', '/healthz']) {
    const response = await request({ method: 'GET', url });
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`);
    t.match(String(response.headers['content-security-policy']), /default-src 'none'/, `${url}: no content may load`);
    t.equal(response.headers['referrer-policy'], 'no-referrer', `${url}: no referrer`);
    t.ok(response.headers['strict-transport-security'], `${url}: HSTS`);
  }
});

t.test('CORS only for the configured origins', async (t) => {
  const { request } = await createTestApp(t, { CORS_ORIGINS: 'https://ehr.example.nl' });
  const preflight = (origin: string) =>
    request({ method: 'OPTIONS', url: '/fhir/Patient', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
  const allowed = await preflight('https://ehr.example.nl');
  t.equal(allowed.headers['access-control-allow-origin'], 'https://ehr.example.nl');
  t.match(String(allowed.headers['access-control-allow-headers']).toLowerCase(), /authorization/);
  const other = await preflight('https://elsewhere.example.com');
  t.notOk(other.headers['access-control-allow-origin'], 'another origin gets no CORS grant');
  const read = await request({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://ehr.example.nl' } });
  t.match(String(read.headers['access-control-expose-headers']), /ETag/, 'ETag and Location are readable cross-origin');

  const closed = await createTestApp(t);
  const none = await closed.request({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://ehr.example.nl' } });
  t.notOk(none.headers['access-control-allow-origin'], 'no origins configured: no CORS at all');
});

t.test('the rate limit counts per client system', async (t) => {
  const { request } = await createTestApp(t, { RATE_LIMIT_PER_MINUTE: '3' });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await request({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' })).statusCode);
  }
  t.same(statuses, [200, 200, 200, 429], 'the fourth request of the minute is refused');
  const refused = await request({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' });
  t.equal(refused.json().resourceType, 'OperationOutcome', 'as an OperationOutcome');
  t.equal(refused.json().issue[0].code, 'throttled');
  t.ok(refused.headers['retry-after'], 'with Retry-After');
  t.equal((await request({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'physio' })).statusCode, 200, 'another client system is not held back');
});
