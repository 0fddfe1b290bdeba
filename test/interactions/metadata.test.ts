// GET [base]/metadata (http.html#capabilities): ETag from the content, 304, _summary and _elements, referencePolicy.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import type { Json } from '../helpers/search.js';

const SUBSETTED = 'SUBSETTED';

t.test(`metadata answers with a content ETag and honours If-None-Match on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  // Public, as before: no token needed.
  const full = await app.inject({ method: 'GET', url: '/fhir/metadata' });
  t.equal(full.statusCode, 200);
  const etag = full.headers['etag'] as string;
  t.match(etag, /^W\/"[A-Za-z0-9_-]+"$/, 'a weak ETag');
  t.equal((await app.inject({ method: 'GET', url: '/fhir/metadata' })).headers['etag'], etag, 'the same content, the same tag');
  const statement = full.json();
  t.same(statement.rest[0].resource.find((r: Json) => r.type === 'Patient').referencePolicy, ['literal', 'enforced', 'local'], 'references are checked by default');

  const cached = await app.inject({ method: 'GET', url: '/fhir/metadata', headers: { 'if-none-match': etag } });
  t.equal(cached.statusCode, 304);
  t.equal(cached.body, '');
  t.equal(cached.headers['etag'], etag);
  t.equal((await app.inject({ method: 'GET', url: '/fhir/metadata', headers: { 'if-none-match': `W/"other", ${etag.slice(2)}` } })).statusCode, 304, 'a list, weak comparison');
  t.equal((await app.inject({ method: 'GET', url: '/fhir/metadata', headers: { 'if-none-match': 'W/"other"' } })).statusCode, 200);

  const summary = await request({ method: 'GET', url: '/fhir/metadata?_summary=true' });
  t.equal(summary.statusCode, 200);
  const brief = summary.json();
  t.ok(brief.meta.tag.some((tag: Json) => tag.code === SUBSETTED), 'marked SUBSETTED');
  t.equal(brief.fhirVersion, '4.0.1');
  const patient = brief.rest[0].resource.find((r: Json) => r.type === 'Patient');
  t.ok(patient, 'rest.resource.type is a summary element');
  t.equal(patient.interaction, undefined, 'interactions are not');
  t.equal(patient.searchParam, undefined, 'search parameters are not');
  t.ok(summary.body.length < full.body.length / 2, 'much smaller');
  t.not(summary.headers['etag'], etag, 'its own ETag');
  t.equal((await app.inject({ method: 'GET', url: '/fhir/metadata?_summary=true', headers: { 'if-none-match': summary.headers['etag'] as string } })).statusCode, 304);

  const elements = (await request({ method: 'GET', url: '/fhir/metadata?_elements=fhirVersion,format' })).json();
  t.same(Object.keys(elements).sort(), ['fhirVersion', 'format', 'meta', 'resourceType']);
  t.ok(elements.meta.tag.some((tag: Json) => tag.code === SUBSETTED));

  const bad = await request({ method: 'GET', url: '/fhir/metadata?_summary=count' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().issue[0].code, 'invalid');
});

t.test(`referencePolicy follows REFERENTIAL_INTEGRITY_ON_WRITE on ${engine}`, async (t) => {
  const { app } = await createTestApp(t, { REFERENTIAL_INTEGRITY_ON_WRITE: 'false' });
  const statement = (await app.inject({ method: 'GET', url: '/fhir/metadata' })).json();
  t.same(statement.rest[0].resource.find((r: Json) => r.type === 'Observation').referencePolicy, ['literal', 'local'], 'not enforced when not checked');
});
