import t from 'tap';
import { endpointRefusal } from '../../src/subscriptions/endpoint-safety.js';
import { createTestApp } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

const production = { allowHttp: false, allowPrivateEndpoints: false };
const development = { allowHttp: true, allowPrivateEndpoints: true };

t.test('the endpoint policy', async (t) => {
  t.equal(endpointRefusal('https://receiver.example.org/hook', production), undefined, 'public https');
  t.type(endpointRefusal('http://receiver.example.org/hook', production), 'string', 'plain http in production');
  for (const url of ['https://127.0.0.1/x', 'https://localhost/x', 'https://10.1.2.3/x', 'https://192.168.0.9/x', 'https://169.254.169.254/x', 'https://[::1]/x', 'https://[fd00::1]/x']) {
    t.type(endpointRefusal(url, production), 'string', `${url} refused without SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS`);
  }
  t.equal(endpointRefusal('http://127.0.0.1:8080/x', development), undefined, 'development allows a local receiver');
});

t.test('a loopback endpoint is refused with 422 when private endpoints are not allowed', async (t) => {
  const app = await createTestApp(t, { SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS: 'false' });
  const response = await app.request({
    method: 'POST',
    url: '/fhir/Subscription',
    body: { resourceType: 'Subscription', status: 'requested', reason: 'test', criteria: 'Task?status=requested', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' } },
  });
  assertIssue(t, response, 422, 'not-supported', 'Subscription.channel.endpoint');
  const search = await app.request({ method: 'GET', url: '/fhir/Subscription' });
  t.equal(search.json<{ total?: number; entry?: unknown[] }>().entry?.length ?? 0, 0, 'nothing stored');
});
