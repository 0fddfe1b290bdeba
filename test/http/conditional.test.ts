// Conditional create, update, patch and delete: https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete
import t from 'tap';
import { adminAuthorization } from '../helpers/auth.js';
import { createTestApp, engine } from '../helpers/app.js';
import { BSN, ids, put } from '../helpers/search.js';

const patient = (bsn: string, family = 'Jansen') => ({
  resourceType: 'Patient',
  identifier: [{ system: BSN, value: bsn }],
  name: [{ family }],
});

t.test(`conditional create: 0, 1 and many matches on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const created = await app.request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': `identifier=${BSN}|999900018` }, body: patient('999900018') });
  t.equal(created.statusCode, 201, 'no match creates');
  const id = created.json().id as string;

  const again = await app.request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': `identifier=${BSN}|999900018` }, body: patient('999900018', 'Anders') });
  t.equal(again.statusCode, 200, 'one match answers the existing resource');
  t.equal(again.json().id, id);
  t.equal(again.json().name[0].family, 'Jansen', 'nothing was written');
  t.match(again.headers['location'], new RegExp(`/fhir/Patient/${id}/_history/1$`));
  t.equal(again.headers['etag'], 'W/"1"');

  await put(app, patient('999900031', 'Jansen'));
  const many = await app.request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': 'family=jansen' }, body: patient('999900043') });
  t.equal(many.statusCode, 412, 'several matches');
  t.equal(many.json().issue[0].code, 'conflict');

  const unknown = await app.request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': 'nothing=1' }, body: patient('999900043') });
  t.equal(unknown.statusCode, 400, 'criteria with an unknown parameter');
  t.same(await ids(app, 'Patient?identifier=999900043'), []);
});

t.test(`20 simultaneous conditional creates leave one resource on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      app.request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': `identifier=${BSN}|999900055` }, body: patient('999900055') })
    )
  );
  const statuses = responses.map((r) => r.statusCode).sort();
  t.same(statuses, [200, ...Array<number>(18).fill(200), 201].sort(), 'one 201, the others 200');
  t.equal(new Set(responses.map((r) => String(r.json().id))).size, 1, 'all answer the same resource');
  t.equal((await ids(app, `Patient?identifier=${BSN}|999900055`)).length, 1);
});

t.test(`conditional update: 0, 1 and many matches on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const none = await app.request({ method: 'PUT', url: `/fhir/Patient?identifier=${BSN}|999900018`, body: patient('999900018') });
  t.equal(none.statusCode, 201, 'no match creates');
  const id = none.json().id as string;
  const one = await app.request({ method: 'PUT', url: `/fhir/Patient?identifier=${BSN}|999900018`, body: patient('999900018', 'Bakker') });
  t.equal(one.statusCode, 200, 'one match updates it');
  t.equal(one.json().id, id);
  t.equal(one.json().meta.versionId, '2');
  t.equal(one.headers['etag'], 'W/"2"');
  t.same(await ids(app, 'Patient?family=bakker'), [id], 'the index follows the update');
  const wrongId = await app.request({ method: 'PUT', url: `/fhir/Patient?identifier=${BSN}|999900018`, body: { ...patient('999900018'), id: 'other' } });
  t.equal(wrongId.statusCode, 400, 'a body id other than the match');
  await put(app, patient('999900031', 'Bakker'));
  const many = await app.request({ method: 'PUT', url: '/fhir/Patient?family=bakker', body: patient('999900043') });
  t.equal(many.statusCode, 412);
});

t.test(`conditional patch and delete on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const created = await put(app, patient('999900018'));
  await put(app, patient('999900031'));
  const authorization = await adminAuthorization(app.app);
  const patch = (url: string) =>
    app.app.inject({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/json-patch+json', authorization },
      payload: JSON.stringify([{ op: 'replace', path: '/name/0/family', value: 'Smit' }]),
    });
  const patched = await patch(`/fhir/Patient?identifier=${BSN}|999900018`);
  t.equal(patched.statusCode, 200);
  t.equal(patched.json().id, created.id);
  t.equal(patched.json().name[0].family, 'Smit');
  t.equal((await patch('/fhir/Patient?identifier=999999999')).statusCode, 404, 'patch without a match');
  t.equal((await patch('/fhir/Patient?family=jansen,smit')).statusCode, 412, 'patch with several matches');

  t.equal((await app.request({ method: 'DELETE', url: '/fhir/Patient?family=jansen,smit' })).statusCode, 412, 'delete with several matches');
  t.equal((await app.request({ method: 'DELETE', url: '/fhir/Patient?identifier=999999999' })).statusCode, 204, 'delete without a match: an ordinary delete of nothing');
  const deleted = await app.request({ method: 'DELETE', url: '/fhir/Patient?family=smit' });
  t.equal(deleted.statusCode, 200);
  t.equal((await app.request({ method: 'GET', url: `/fhir/Patient/${created.id as string}` })).statusCode, 410);
  t.same(await ids(app, 'Patient?family=smit'), []);
  t.equal((await app.request({ method: 'DELETE', url: '/fhir/Patient' })).statusCode, 400, 'no mass delete without criteria');
});
