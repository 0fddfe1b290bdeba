import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';

const patient = {
  resourceType: 'Patient',
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900018' }],
  name: [{ family: 'Bakker', given: ['Piet'] }],
  gender: 'male',
  birthDate: '1950-02-03',
};

t.test(`create, read, vread, update and delete on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);

  const created = await request({ method: 'POST', url: '/fhir/Patient', body: { ...patient, id: 'client-chosen', meta: { versionId: '7', lastUpdated: '2001-01-01T00:00:00Z' } } });
  t.equal(created.statusCode, 201);
  const body = created.json();
  t.not(body.id, 'client-chosen', 'create ignores a client id');
  t.equal(body.meta.versionId, '1', 'the server owns versionId');
  t.not(body.meta.lastUpdated, '2001-01-01T00:00:00Z', 'the server owns lastUpdated');
  t.equal(created.headers['etag'], 'W/"1"');
  t.match(created.headers['location'], new RegExp(`/fhir/Patient/${body.id}/_history/1$`));
  t.ok(created.headers['last-modified']);
  t.match(created.headers['content-type'], /^application\/fhir\+json/);

  const read = await request({ method: 'GET', url: `/fhir/Patient/${body.id}` });
  t.equal(read.statusCode, 200);
  t.same(read.json(), body);
  t.equal(read.headers['etag'], 'W/"1"');

  const notModified = await request({ method: 'GET', url: `/fhir/Patient/${body.id}`, headers: { 'if-none-match': 'W/"1"' } });
  t.equal(notModified.statusCode, 304, 'conditional read with a current ETag');

  const updated = await request({ method: 'PUT', url: `/fhir/Patient/${body.id}`, body: { ...patient, id: body.id, gender: 'other' } });
  t.equal(updated.statusCode, 200);
  t.equal(updated.json().meta.versionId, '2');
  t.equal(updated.headers['etag'], 'W/"2"');

  const v1 = await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/1` });
  t.equal(v1.statusCode, 200);
  t.equal(v1.json().gender, 'male');
  const v2 = await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/2` });
  t.equal(v2.json().gender, 'other');
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/3` })).statusCode, 404);
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/x1` })).statusCode, 404);

  const deleted = await request({ method: 'DELETE', url: `/fhir/Patient/${body.id}` });
  t.equal(deleted.statusCode, 200);
  t.equal(deleted.json().resourceType, 'OperationOutcome');
  t.equal(deleted.headers['etag'], 'W/"3"');
  const gone = await request({ method: 'GET', url: `/fhir/Patient/${body.id}` });
  t.equal(gone.statusCode, 410);
  t.equal(gone.json().resourceType, 'OperationOutcome');
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/3` })).statusCode, 410, 'vread of the deletion');
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${body.id}/_history/1` })).statusCode, 200, 'history survives delete');
  const again = await request({ method: 'DELETE', url: `/fhir/Patient/${body.id}` });
  t.equal(again.statusCode, 204, 'deleting a deleted resource changes nothing');
  t.equal(again.body, '');

  t.equal((await request({ method: 'GET', url: '/fhir/Patient/does-not-exist' })).statusCode, 404);
  t.equal((await request({ method: 'DELETE', url: '/fhir/Patient/does-not-exist' })).statusCode, 204);

  const revived = await request({ method: 'PUT', url: `/fhir/Patient/${body.id}`, body: { ...patient, id: body.id } });
  t.equal(revived.statusCode, 201, 'an update after delete creates again');
  t.equal(revived.json().meta.versionId, '4', 'and continues the version numbering');
});

t.test(`update as create, If-Match and id rules on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const created = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', body: { ...patient, id: 'pat-1' } });
  t.equal(created.statusCode, 201, 'update as create with a client id');
  t.match(created.headers['location'], /\/fhir\/Patient\/pat-1\/_history\/1$/);

  const stale = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', headers: { 'if-match': 'W/"7"' }, body: { ...patient, id: 'pat-1' } });
  t.equal(stale.statusCode, 412);
  t.equal(stale.json().issue[0].code, 'conflict');

  const fresh = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', headers: { 'if-match': 'W/"1"' }, body: { ...patient, id: 'pat-1', birthDate: '1970-01-01' } });
  t.equal(fresh.statusCode, 200);
  t.equal(fresh.headers['etag'], 'W/"2"');

  const badEtag = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', headers: { 'if-match': 'nonsense' }, body: { ...patient, id: 'pat-1' } });
  t.equal(badEtag.statusCode, 400);

  const mismatch = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', body: { ...patient, id: 'pat-2' } });
  t.equal(mismatch.statusCode, 400, 'body id must match the URL');
  t.same(mismatch.json().issue[0].expression, ['Patient.id']);
  const noId = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', body: patient });
  t.equal(noId.statusCode, 400, 'update needs the id in the body');
  const wrongType = await request({ method: 'PUT', url: '/fhir/Patient/pat-1', body: { resourceType: 'Practitioner', id: 'pat-1' } });
  t.equal(wrongType.statusCode, 400);
  const badId = await request({ method: 'PUT', url: '/fhir/Patient/bad_id!', body: { ...patient, id: 'bad_id!' } });
  t.equal(badId.statusCode, 400);

  const ifMatchMissing = await request({ method: 'PUT', url: '/fhir/Patient/never', headers: { 'if-match': 'W/"1"' }, body: { ...patient, id: 'never' } });
  t.equal(ifMatchMissing.statusCode, 412, 'If-Match on a resource that does not exist');
});

t.test(`Prefer return on create, update and patch on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const minimal = await request({ method: 'POST', url: '/fhir/Patient', headers: { prefer: 'return=minimal' }, body: patient });
  t.equal(minimal.statusCode, 201);
  t.equal(minimal.body, '', 'minimal has no body');
  t.ok(minimal.headers['location']);
  t.equal(minimal.headers['etag'], 'W/"1"');
  const id = /Patient\/([^/]+)\//.exec(minimal.headers['location'] as string)?.[1] as string;

  const outcome = await request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: { prefer: 'return=OperationOutcome' }, body: { ...patient, id, birthDate: '1970-01-01' } });
  t.equal(outcome.statusCode, 200);
  t.equal(outcome.json().resourceType, 'OperationOutcome');
  t.equal(outcome.json().id, undefined, 'internal outcome tags never reach clients');

  const representation = await request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: { prefer: 'return=representation' }, body: { ...patient, id, birthDate: '1970-01-02' } });
  t.equal(representation.json().resourceType, 'Patient');

  const patched = await request({
    method: 'PATCH',
    url: `/fhir/Patient/${id}`,
    headers: { 'content-type': 'application/json-patch+json', prefer: 'return=minimal' },
    body: JSON.stringify([{ op: 'replace', path: '/gender', value: 'female' }]),
  });
  t.equal(patched.statusCode, 200);
  t.equal(patched.body, '');
  t.equal(patched.headers['etag'], 'W/"4"');
});

t.test(`JSON Patch on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const created = (await request({ method: 'POST', url: '/fhir/Patient', body: patient })).json();
  const url = `/fhir/Patient/${created.id}`;
  const patch = (ops: unknown, headers: Record<string, string> = {}) =>
    request({ method: 'PATCH', url, headers: { 'content-type': 'application/json-patch+json', ...headers }, body: JSON.stringify(ops) });

  const ok = await patch([
    { op: 'test', path: '/gender', value: 'male' },
    { op: 'add', path: '/name/0/given/-', value: 'Jan' },
  ]);
  t.equal(ok.statusCode, 200);
  t.same(ok.json().name[0].given, ['Piet', 'Jan']);
  t.equal(ok.json().meta.versionId, '2');

  t.equal((await patch([{ op: 'test', path: '/gender', value: 'female' }])).statusCode, 422, 'failed test op');
  const invalid = await patch([{ op: 'replace', path: '/gender', value: 'robot' }]);
  t.equal(invalid.statusCode, 422, 'the patched resource is validated');
  t.same(invalid.json().issue[0].expression, ['Patient.gender']);
  t.equal((await patch([{ op: 'replace', path: '/id', value: 'other' }])).statusCode, 422, 'cannot change the id');
  t.equal((await patch({ op: 'replace' })).statusCode, 400, 'not an array');
  t.equal((await patch([{ op: 'frobnicate', path: '/x' }])).statusCode, 400, 'unknown op');
  t.equal((await patch([{ op: 'replace', path: '/gender', value: 'female' }], { 'if-match': 'W/"1"' })).statusCode, 412);
  const fhirJson = await request({ method: 'PATCH', url, body: [{ op: 'replace', path: '/gender', value: 'female' }] });
  t.equal(fhirJson.statusCode, 415, 'PATCH takes JSON Patch only');
  t.equal((await request({ method: 'PATCH', url: '/fhir/Patient/missing', headers: { 'content-type': 'application/json-patch+json' }, body: '[]' })).statusCode, 404);

  const history = (await request({ method: 'GET', url: `${url}/_history` })).json();
  t.equal(history.total, 2, 'failed patches leave no version behind');
});
