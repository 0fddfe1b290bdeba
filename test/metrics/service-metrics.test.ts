// /metrics (metrics/service-metrics.ts) after a few requests: the rate limit's refusals and store
// faults, subscription deliveries and failures, next to the request, pool, audit-batch and
// event-lag series.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { sample } from '../helpers/prometheus.js';
import { startOfAWindow } from '../helpers/rate-limit-window.js';
import { startReceiver } from '../helpers/rest-hook-receiver.js';

const LIMIT = 5;

function subscription(endpoint: string): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'metrics',
    criteria: 'Patient?family=Metriekmeting',
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }] },
    },
  };
}

async function scrape(app: TestApp): Promise<string> {
  const response = await app.app.inject({ method: 'GET', url: '/metrics' });
  return response.body;
}

t.test(`the operability series after a few requests, on ${engine}`, async (t) => {
  const app = await createTestApp(t, { RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_STORE: 'database', SUBSCRIPTION_RETRY_MS: '600000' });
  const receiver = await startReceiver(t);
  receiver.answer('/failing', 500);
  const drain = (): Promise<void> => app.app.subscriptions.drain(app.app.resourceEvents);

  const before = await scrape(app);
  t.equal(sample(before, 'schakel_subscription_deliveries_total', { outcome: 'delivered' }), 0, 'the delivery series exist from the start');
  t.equal(sample(before, 'schakel_subscription_deliveries_total', { outcome: 'failed' }), 0);
  t.equal(sample(before, 'schakel_rate_limit_store_faults_total'), 0);

  // Subscriptions: one receiver accepts (handshake and one notification), one answers 500.
  await startOfAWindow();
  for (const path of ['/accepting', '/failing']) {
    t.equal((await app.request({ method: 'POST', url: '/fhir/Subscription', body: subscription(`${receiver.url}${path}`) })).statusCode, 201);
  }
  await drain();
  const patient = { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999911120' }], name: [{ family: 'Metriekmeting' }] };
  t.equal((await app.request({ method: 'POST', url: '/fhir/Patient', body: patient })).statusCode, 201);
  await drain();
  t.equal(receiver.on('/accepting').length, 2, 'the receiver got the handshake and one notification');
  const failedAttempts = receiver.on('/failing').length;
  t.ok(failedAttempts >= 1, 'the failing receiver was tried');

  // The rate limit: one client beyond its limit, then the shared store away for one request.
  const statuses: number[] = [];
  for (let i = 0; i <= LIMIT; i++) {
    statuses.push((await app.request({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' })).statusCode);
  }
  t.same(statuses.slice(-2), [200, 429], 'the request beyond the limit is refused');
  await app.database.db.exec('ALTER TABLE rate_limit_window RENAME TO rate_limit_window_away');
  try {
    t.equal((await app.request({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'nurse' })).statusCode, 200, 'counted on the node while the store is away');
  } finally {
    await app.database.db.exec('ALTER TABLE rate_limit_window_away RENAME TO rate_limit_window');
  }

  const text = await scrape(app);
  t.equal(sample(text, 'schakel_subscription_deliveries_total', { outcome: 'delivered' }), 2, 'handshake and notification delivered');
  t.equal(sample(text, 'schakel_subscription_deliveries_total', { outcome: 'failed' }), failedAttempts, 'one failure per attempt on the failing receiver');
  t.equal(sample(text, 'schakel_rate_limited_requests_total', { key: 'client' }), 1, 'one refusal, keyed by a client system');
  t.equal(sample(text, 'schakel_rate_limit_store_faults_total'), 1, 'one fault met');
  t.equal(sample(text, 'schakel_http_requests_total', { interaction: 'search-type', resource_type: 'Patient', status: '429' }), 1, 'the refusal among the requests');
  t.equal(sample(text, 'schakel_http_requests_total', { interaction: 'create', resource_type: 'Subscription', status: '201' }), 2);
  t.ok((sample(text, 'schakel_http_request_duration_seconds_count', { interaction: 'search-type', resource_type: 'Patient' }) ?? 0) >= LIMIT + 2, 'latency histogram');
  t.ok((sample(text, 'schakel_audit_commit_batch_size_count') ?? 0) >= 1, 'audit batches');
  t.equal(sample(text, 'schakel_db_waiting_statements'), 0, 'nothing waits for the database');
  t.ok((sample(text, 'schakel_event_consumer_lag', { consumer: 'subscriptions' }) ?? -1) >= 0, 'the subscription matcher has a lag series');
  if (engine === 'postgres') {
    t.ok((sample(text, 'schakel_db_pool_connections', { state: 'idle' }) ?? 0) >= 1, 'the pool');
  }
});
