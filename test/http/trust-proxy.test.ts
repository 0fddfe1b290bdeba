// TRUST_PROXY (config.ts, http/trust-proxy.ts): the client's address from X-Forwarded-For of a
// trusted proxy, in the audit log and as the rate limit's key before authentication; ignored when off.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/auth.js';
import { startOfAWindow } from '../helpers/rate-limit-window.js';

const PROXY = '10.20.30.40';

async function auditedAddress(app: TestApp, requestId: string): Promise<string | null | undefined> {
  const [row] = await app.database.db.query<{ address: string | null }>('SELECT address FROM audit_log WHERE request_id = $1', [requestId]);
  return row?.address;
}

/** Unauthenticated requests (the CapabilityStatement): counted per address. */
async function metadataFrom(app: TestApp, forwardedFor: string): Promise<number> {
  const response = await app.app.inject({ method: 'GET', url: '/fhir/metadata', remoteAddress: PROXY, headers: { 'x-forwarded-for': forwardedFor } });
  return response.statusCode;
}

t.test(`TRUST_PROXY on: the address a trusted proxy forwarded for, on ${engine}`, async (t) => {
  // The shared store, so its keys can be read back (the default on PostgreSQL in production).
  const app = await createTestApp(t, { TRUST_PROXY: '10.20.0.0/16', RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_STORE: 'database' });
  const searched = await app.app.inject({
    method: 'GET',
    url: '/fhir/Patient?_count=1',
    remoteAddress: PROXY,
    headers: { authorization: `Bearer ${await tokenFor(app.app, 'admin')}`, 'x-forwarded-for': '198.51.100.9, 203.0.113.7', 'x-request-id': 'trust-proxy-on-1' },
  });
  t.equal(searched.statusCode, 200);
  t.equal(await auditedAddress(app, 'trust-proxy-on-1'), '203.0.113.7', 'the audit row names the client the proxy forwarded for (the nearest untrusted hop)');

  const direct = await app.request({
    method: 'GET',
    url: '/fhir/Patient?_count=1',
    as: 'gp',
    headers: { 'x-forwarded-for': '203.0.113.66', 'x-request-id': 'trust-proxy-on-2' },
  });
  t.equal(direct.statusCode, 200);
  t.equal(await auditedAddress(app, 'trust-proxy-on-2'), '127.0.0.1', 'a sender that is no trusted proxy cannot choose its address');

  await startOfAWindow();
  t.same([await metadataFrom(app, '203.0.113.1'), await metadataFrom(app, '203.0.113.1'), await metadataFrom(app, '203.0.113.1')], [200, 200, 429], 'one client behind the proxy reaches its limit');
  t.equal(await metadataFrom(app, '203.0.113.2'), 200, 'another client behind the same proxy has its own count');
  const keys = await app.database.db.query<{ key: string }>(`SELECT key FROM rate_limit_window WHERE key LIKE 'ip:%' ORDER BY key`);
  t.same(keys.map((k) => k.key), ['ip:203.0.113.1', 'ip:203.0.113.2'], 'the shared counts are keyed by the forwarded addresses');
});

t.test(`TRUST_PROXY off: X-Forwarded-For is ignored, on ${engine}`, async (t) => {
  const app = await createTestApp(t, { RATE_LIMIT_PER_MINUTE: '2' });
  const searched = await app.app.inject({
    method: 'GET',
    url: '/fhir/Patient?_count=1',
    remoteAddress: PROXY,
    headers: { authorization: `Bearer ${await tokenFor(app.app, 'admin')}`, 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'trust-proxy-off-1' },
  });
  t.equal(searched.statusCode, 200);
  t.equal(await auditedAddress(app, 'trust-proxy-off-1'), PROXY, 'the audit row names the connecting address');
  await startOfAWindow();
  t.same(
    [await metadataFrom(app, '203.0.113.1'), await metadataFrom(app, '203.0.113.2'), await metadataFrom(app, '203.0.113.3')],
    [200, 200, 429],
    'every client behind the proxy shares the proxy address count'
  );
});
