// An update that changes nothing but meta.versionId/lastUpdated writes no version (repository/unchanged.ts).
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario } from '../helpers/care-scenario.js';
import { put, type Json } from '../helpers/search.js';
import { referralPatient, uniqueBsn } from '../helpers/referral.js';

const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

async function versions(app: TestApp, url: string): Promise<number> {
  return ((await app.request({ method: 'GET', url: `${url}/_history` })).json().entry as Json[]).length;
}

async function provenanceCount(app: TestApp, target: string): Promise<number> {
  return ((await app.request({ method: 'GET', url: `/fhir/Provenance?target=${target}` })).json().entry ?? []).length;
}

t.test(`an unchanged update answers the current version on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const { request } = app;
  const first = await put(app, { ...referralPatient(uniqueBsn()), id: 'same', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Anna</div>' } });
  const stored = (await request({ method: 'GET', url: '/fhir/Patient/same' })).json();
  t.equal(await provenanceCount(app, 'Patient/same'), 1);

  // The same content, keys in another order, with a client's idea of versionId and lastUpdated.
  const { resourceType, id, ...rest } = stored;
  const again = await request({
    method: 'PUT',
    url: '/fhir/Patient/same',
    body: { ...Object.fromEntries(Object.entries(rest).reverse()), id, resourceType, meta: { versionId: '9', lastUpdated: '2020-01-01T00:00:00Z' } },
  });
  t.equal(again.statusCode, 200);
  t.equal(again.headers['etag'], 'W/"1"', 'the current version');
  t.equal(again.json().meta.versionId, '1');
  t.equal(again.json().meta.lastUpdated, first.meta.lastUpdated, 'lastUpdated stands');
  t.equal(await versions(app, '/fhir/Patient/same'), 1, 'no new version in history');
  t.equal(await provenanceCount(app, 'Patient/same'), 1, 'no Provenance of a write that did not happen');

  const minimal = await request({ method: 'PUT', url: '/fhir/Patient/same', body: stored, headers: { prefer: 'return=OperationOutcome' } });
  t.equal(minimal.statusCode, 200);
  t.equal(minimal.json().resourceType, 'OperationOutcome', 'Prefer is honoured as for any update');

  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/same', body: stored, headers: { 'if-match': 'W/"3"' } })).statusCode, 412, 'If-Match still decides');
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/same', body: stored, headers: { 'if-match': 'W/"1"' } })).statusCode, 200);

  const narrative = await request({ method: 'PUT', url: '/fhir/Patient/same', body: { ...stored, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Anna Jansen</div>' } } });
  t.equal(narrative.headers['etag'], 'W/"2"', 'a new narrative is a change');
  const tagged = await request({ method: 'PUT', url: '/fhir/Patient/same', body: { ...narrative.json<Json>(), meta: { tag: [{ system: 'urn:example:tags', code: 'x' }] } } });
  t.equal(tagged.headers['etag'], 'W/"3"', 'a new meta.tag is a change');

  const samePatch = await request({ method: 'PATCH', url: '/fhir/Patient/same', headers: JSON_PATCH, body: JSON.stringify([{ op: 'replace', path: '/gender', value: tagged.json().gender }]) });
  t.equal(samePatch.statusCode, 200);
  t.equal(samePatch.headers['etag'], 'W/"3"', 'a PATCH that changes nothing');
  t.equal(await versions(app, '/fhir/Patient/same'), 3);

  const transaction = await request({
    method: 'POST',
    url: '/fhir',
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: tagged.json(), request: { method: 'PUT', url: 'Patient/same' } }] },
  });
  t.equal(transaction.statusCode, 200);
  t.same(transaction.json().entry[0].response.status, '200 OK');
  t.same(transaction.json().entry[0].response.etag, 'W/"3"', 'in a transaction too');
  t.equal(await versions(app, '/fhir/Patient/same'), 3);

  // A caller who may not see the resource learns nothing from the shortcut: 404 as for any update.
  await put(app, { resourceType: 'Device', id: 'dev-kok', patient: { reference: 'Patient/p-kok' } });
  const device = (await request({ method: 'GET', url: '/fhir/Device/dev-kok' })).json();
  t.equal((await request({ method: 'PUT', url: '/fhir/Device/dev-kok', as: 'physio', body: device })).statusCode, 404);
  t.equal((await request({ method: 'PUT', url: '/fhir/Device/dev-kok', as: 'gp', body: device })).headers['etag'], 'W/"1"', 'one in care: unchanged');
});

t.test(`UPDATE_NOOP_NEW_VERSION=true versions every update on ${engine}`, async (t) => {
  const app = await createTestApp(t, { UPDATE_NOOP_NEW_VERSION: 'true' });
  const stored = await put(app, { ...referralPatient(uniqueBsn()), id: 'again' });
  const again = await app.request({ method: 'PUT', url: '/fhir/Patient/again', body: stored });
  t.equal(again.statusCode, 200);
  t.equal(again.headers['etag'], 'W/"2"');
});
