// Swagger UI at [base]/docs (http/api-docs.ts): in development over the document of
// [base]/openapi.json; in production not served at all.
import t from 'tap';
import { createTestApp } from '../helpers/app.js';

t.test('development serves Swagger UI over the OpenAPI document', async (t) => {
  const { app } = await createTestApp(t, { SCHAKEL_MODE: 'development' });
  const page = await app.inject({ method: 'GET', url: '/fhir/docs' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /swagger-ui/i);
  t.notMatch(page.headers['content-security-policy'], /upgrade-insecure-requests/, 'its scripts load over plain http on localhost');
  t.match(page.headers['content-security-policy'], /script-src 'self'/, 'the UI has its own policy, not default-src none');
  const initializer = await app.inject({ method: 'GET', url: '/fhir/docs/static/swagger-initializer.js' });
  t.equal(initializer.statusCode, 200);
  const document = await app.inject({ method: 'GET', url: '/fhir/docs/json' });
  t.equal(document.statusCode, 200);
  const openapi = await app.inject({ method: 'GET', url: '/fhir/openapi.json' });
  t.same(document.json(), openapi.json(), 'the UI shows the document of /fhir/openapi.json');
  t.match(document.json(), { openapi: /^3\.1/ });
});

t.test('production does not serve it', async (t) => {
  const { request } = await createTestApp(t, { SCHAKEL_MODE: 'production' });
  for (const url of ['/fhir/docs', '/fhir/docs/json', '/fhir/docs/static/swagger-initializer.js']) {
    const response = await request({ method: 'GET', url });
    t.equal(response.statusCode, 404, url);
    t.equal(response.json().resourceType, 'OperationOutcome', url);
  }
  t.equal((await request({ method: 'GET', url: '/fhir/openapi.json' })).statusCode, 200, 'the document itself stays public');
});
