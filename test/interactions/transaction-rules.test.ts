import t from 'tap';
import { withoutProvenance } from '../helpers/search.js';
import { createTestApp, engine } from '../helpers/app.js';
import { nonEmptyTables } from '../helpers/tables.js';
import { referralBundle, referralPatient, uniqueBsn } from '../helpers/referral.js';

const patient = (id?: string) => ({ ...referralPatient(uniqueBsn()), ...(id ? { id } : {}) });
const tx = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const issue0 = (res: { json: () => { issue: Array<{ code: string; expression?: string[] }> } }) => res.json().issue[0]!;

t.test(`Bundle types and entry limits on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t, { MAX_BUNDLE_ENTRIES: '3' });
  const collection = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'collection' } });
  t.equal(collection.statusCode, 400, 'only batch and transaction are processed');
  t.same(issue0(collection).expression, ['Bundle.type']);
  const notBundle = await request({ method: 'POST', url: '/fhir', body: patient() });
  t.equal(notBundle.statusCode, 400);

  const empty = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction' } });
  t.equal(empty.statusCode, 200, 'an empty transaction is not an error');
  t.same(empty.json(), { resourceType: 'Bundle', type: 'transaction-response' });

  const four = tx([1, 2, 3, 4].map(() => ({ resource: patient(), request: { method: 'POST', url: 'Patient' } })));
  const tooMany = await request({ method: 'POST', url: '/fhir', body: four });
  t.equal(tooMany.statusCode, 413, 'more entries than MAX_BUNDLE_ENTRIES');
  t.equal(issue0(tooMany).code, 'too-costly');
  t.same(issue0(tooMany).expression, ['Bundle.entry']);
  const tooManyBatch = await request({ method: 'POST', url: '/fhir', body: { ...four, type: 'batch' } });
  t.equal(tooManyBatch.statusCode, 413, 'batches too');
  t.same(await nonEmptyTables(app), {});
});

t.test(`refusals leave nothing committed on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const good = { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: patient(), request: { method: 'POST', url: 'Patient' } };

  const duplicateFullUrl = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([good, { ...good, request: { method: 'POST', url: 'Patient' } }]),
  });
  t.equal(duplicateFullUrl.statusCode, 400);
  t.equal(issue0(duplicateFullUrl).code, 'invariant');
  t.same(issue0(duplicateFullUrl).expression, ['Bundle.entry[1].fullUrl']);

  const sameResource = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: patient('p1'), request: { method: 'PUT', url: 'Patient/p1' } },
      good,
      { request: { method: 'DELETE', url: 'Patient/p1' } },
    ]),
  });
  t.equal(sameResource.statusCode, 400, 'two entries touching one resource');
  t.equal(issue0(sameResource).code, 'business-rule');
  t.same(issue0(sameResource).expression, ['Bundle.entry[2]']);

  const nested = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([good, { resource: tx([{ request: { method: 'GET', url: 'Patient' } }]), request: { method: 'POST', url: 'Bundle' } }]),
  });
  t.equal(nested.statusCode, 400, 'a transaction Bundle as an entry resource');
  t.equal(issue0(nested).code, 'not-supported');
  t.same(issue0(nested).expression, ['Bundle.entry[1].resource']);
  const nestedBase = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([good, { resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '/' } }]),
  });
  t.equal(nestedBase.statusCode, 400, 'POST [base] inside a transaction');

  const foreign = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([good, { resource: patient('p2'), request: { method: 'PUT', url: 'https://elsewhere.example/fhir/Patient/p2' } }]),
  });
  t.equal(foreign.statusCode, 400, 'request.url on another server');
  t.same(issue0(foreign).expression, ['Bundle.entry[1].request.url']);

  const unknownType = await request({ method: 'POST', url: '/fhir', body: tx([good, { request: { method: 'GET', url: 'Nonsense/1' } }]) });
  t.equal(unknownType.statusCode, 404);
  t.same(issue0(unknownType).expression, ['Bundle.entry[1].request.url']);

  const noRequest = await request({ method: 'POST', url: '/fhir', body: tx([good, { resource: patient() }]) });
  t.equal(noRequest.statusCode, 400);
  t.same(issue0(noRequest).expression, ['Bundle.entry[1].request']);

  const dangling = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([good, { resource: { ...patient(), link: [{ type: 'seealso', other: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' } }] }, request: { method: 'POST', url: 'Patient' } }]),
  });
  t.equal(dangling.statusCode, 400, 'a urn:uuid that names no entry');
  t.equal(issue0(dangling).code, 'invalid');
  t.same(issue0(dangling).expression, ['Bundle.entry[1].resource.link[0].other']);

  t.same(await nonEmptyTables(app), {}, 'nothing committed by any of them');

  const ownBase = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([{ resource: patient('p3'), request: { method: 'PUT', url: 'http://localhost:80/fhir/Patient/p3' } }]),
  });
  t.equal(ownBase.statusCode, 200, 'an absolute URL on this server is fine');
  t.equal(ownBase.json().entry[0].response.status, '201 Created');
});

t.test(`If-Match failure rolls the transaction back on ${engine}`, async (t) => {
  const { request, startedAt } = await createTestApp(t);
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/p1', body: patient('p1') })).statusCode, 201);
  const res = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'Patient/p1' } }, request: { method: 'POST', url: 'Observation' } },
      { resource: { ...patient('p1'), gender: 'other' }, request: { method: 'PUT', url: 'Patient/p1', ifMatch: 'W/"5"' } },
    ]),
  });
  t.equal(res.statusCode, 412);
  t.equal(issue0(res).code, 'conflict');
  t.same(issue0(res).expression, ['Bundle.entry[1]']);
  const history = withoutProvenance((await request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(startedAt)}` })).json().entry);
  t.equal(history.length, 1, 'only the PUT from before the transaction');
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/p1' })).json().gender, 'female');

  const ok = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([{ resource: { ...patient('p1'), gender: 'other' }, request: { method: 'PUT', url: 'Patient/p1', ifMatch: 'W/"1"' } }]),
  });
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().entry[0].response.status, '200 OK');
  t.equal(ok.json().entry[0].response.etag, 'W/"2"');

  const notModified = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { request: { method: 'GET', url: 'Patient/p1', ifNoneMatch: 'W/"2"' } },
      { request: { method: 'GET', url: 'Patient/p1', ifModifiedSince: new Date(Date.now() + 60_000).toISOString() } },
      { request: { method: 'GET', url: 'Patient/p1', ifNoneMatch: 'W/"1"' } },
    ]),
  });
  t.equal(notModified.statusCode, 200);
  t.same(
    notModified.json().entry.map((e: { response: { status: string } }) => e.response.status),
    ['304 Not Modified', '304 Not Modified', '200 OK']
  );
});

t.test(`processing order DELETE, POST, PUT/PATCH, GET on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/old', body: patient('old') })).statusCode, 201);
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/kept', body: patient('kept') })).statusCode, 201);
  const patchOps = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }])).toString('base64');
  const res = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { request: { method: 'GET', url: 'Patient/new' } },
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patchOps }, request: { method: 'PATCH', url: 'Patient/kept' } },
      { resource: patient('new'), request: { method: 'PUT', url: 'Patient/new' } },
      { fullUrl: 'urn:uuid:33333333-3333-4333-8333-333333333333', resource: patient(), request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'DELETE', url: 'Patient/old' } },
      { request: { method: 'HEAD', url: 'Patient/kept' } },
    ]),
  });
  t.equal(res.statusCode, 200);
  const entries = res.json().entry;
  t.same(
    entries.map((e: { response: { status: string } }) => e.response.status),
    ['200 OK', '200 OK', '201 Created', '201 Created', '200 OK', '200 OK']
  );
  t.equal(entries[0].resource.id, 'new', 'the GET ran after the PUT');
  t.equal(entries[1].resource.gender, 'male', 'PATCH as a Binary JSON Patch');
  t.equal(entries[5].resource, undefined, 'HEAD has no body');
  t.equal(entries[5].response.etag, 'W/"2"', 'HEAD ran after the PATCH');
  t.equal(entries[4].response.outcome.resourceType, 'OperationOutcome', 'a delete reports in response.outcome');
  const history = withoutProvenance((await request({ method: 'GET', url: '/fhir/_history?_count=20' })).json().entry);
  const methods = history.slice(0, 4).reverse().map((e: { request: { method: string } }) => e.request.method);
  t.same(methods, ['DELETE', 'POST', 'PATCH', 'PUT'], 'history in processing order');
});

t.test(`deletes are checked against the final state on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/a', body: patient('a') });
  await request({ method: 'PUT', url: '/fhir/Patient/b', body: patient('b') });
  // A List of patients: the one kind of resource whose patient may change on update (docs/security.md).
  const observation = (subject: string) => ({ resourceType: 'List', id: 'o', status: 'current', mode: 'working', entry: [{ item: { reference: subject } }] });
  await request({ method: 'PUT', url: '/fhir/List/o', body: observation('Patient/a') });

  const stillReferenced = await request({ method: 'POST', url: '/fhir', body: tx([{ request: { method: 'DELETE', url: 'Patient/a' } }]) });
  t.equal(stillReferenced.statusCode, 409);
  t.same(issue0(stillReferenced).expression, ['Bundle.entry[0].request']);

  const before = await nonEmptyTables(app);
  const moved = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { request: { method: 'DELETE', url: 'Patient/a' } },
      { resource: observation('Patient/b'), request: { method: 'PUT', url: 'List/o' } },
    ]),
  });
  t.equal(moved.statusCode, 200, 'the PUT that drops the last reference runs after the DELETE, and that is fine');
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/a' })).statusCode, 410);
  t.not(await nonEmptyTables(app), before);
});

t.test(`Prefer applies per entry on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const minimal = await request({ method: 'POST', url: '/fhir', headers: { prefer: 'return=minimal' }, body: referralBundle() });
  t.equal(minimal.statusCode, 200);
  for (const entry of minimal.json().entry) {
    t.equal(entry.resource, undefined);
    t.equal(entry.fullUrl, undefined);
    t.match(entry.response, { status: '201 Created', etag: 'W/"1"' });
    t.ok(entry.response.location);
  }
  const outcome = await request({ method: 'POST', url: '/fhir', headers: { prefer: 'return=OperationOutcome' }, body: referralBundle({ bsn: '999911132' }) });
  for (const entry of outcome.json().entry) {
    t.equal(entry.resource, undefined);
    t.equal(entry.response.outcome.resourceType, 'OperationOutcome');
    t.equal(entry.response.outcome.id, undefined, 'internal outcome tags never reach clients');
  }
  const representation = await request({ method: 'POST', url: '/fhir', headers: { prefer: 'return=representation' }, body: referralBundle({ bsn: '999911144' }) });
  t.same(representation.json().entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType), ['Task', 'ServiceRequest', 'Patient']);
});

t.test(`a JSON Patch entry links to a new entry on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/p1', body: patient('p1') });
  const gp = 'urn:uuid:55555555-5555-4555-8555-555555555555';
  const ops = [{ op: 'add', path: '/generalPractitioner', value: [{ reference: gp }] }];
  const res = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      {
        resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') },
        request: { method: 'PATCH', url: 'Patient/p1' },
      },
      { fullUrl: gp, resource: { resourceType: 'Practitioner', name: [{ family: 'de Vries' }] }, request: { method: 'POST', url: 'Practitioner' } },
    ]),
  });
  t.equal(res.statusCode, 200);
  const [patched, practitioner] = res.json().entry.map((e: { resource: unknown }) => e.resource);
  t.equal(patched.generalPractitioner[0].reference, `Practitioner/${practitioner.id}`);

  const badPatch = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      {
        resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from('[{"op":"replace","path":"/gender","value":"bogus"}]').toString('base64') },
        request: { method: 'PATCH', url: 'Patient/p1' },
      },
    ]),
  });
  t.equal(badPatch.statusCode, 422, 'the patched resource is validated');
  t.ok(badPatch.json().issue.some((i: { expression?: string[] }) => i.expression?.[0]?.startsWith('Bundle.entry[0]')));
});
