// delete (http.html#delete): nothing to delete answers 204 without a body and writes no version.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario } from '../helpers/care-scenario.js';
import { put, type Json } from '../helpers/search.js';
import { referralPatient, uniqueBsn } from '../helpers/referral.js';

const statuses = (body: Json): string[] => (body.entry as Json[]).map((e) => String(e.response.status));

t.test(`delete of what is not there on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const { request } = app;

  const never = await request({ method: 'DELETE', url: '/fhir/Patient/never-was' });
  t.equal(never.statusCode, 204, 'an id that never existed');
  t.equal(never.body, '', 'no body');
  t.equal(never.headers['content-type'], undefined);
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/never-was' })).statusCode, 404, 'and still nothing: no deletion was recorded');

  const created = await put(app, { ...referralPatient(uniqueBsn()), id: 'del-twice' });
  t.equal(created.meta.versionId, '1');
  const first = await request({ method: 'DELETE', url: '/fhir/Patient/del-twice' });
  t.equal(first.statusCode, 200, 'a real deletion reports itself');
  t.equal(first.headers['etag'], 'W/"2"');
  const second = await request({ method: 'DELETE', url: '/fhir/Patient/del-twice' });
  t.equal(second.statusCode, 204, 'an already deleted resource');
  t.equal(second.body, '');
  const history = (await request({ method: 'GET', url: '/fhir/Patient/del-twice/_history' })).json();
  t.same((history.entry as Json[]).map((e) => e.request?.method ?? e.response?.status), ['DELETE', 'PUT'], 'no second deletion version');

  const conditional = await request({ method: 'DELETE', url: '/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999999990' });
  t.equal(conditional.statusCode, 204, 'conditional delete without a match is an ordinary delete of nothing');

  await put(app, { ...referralPatient(uniqueBsn()), id: 'del-batch' });
  await request({ method: 'DELETE', url: '/fhir/Patient/del-batch' });
  const batch = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: 'Patient/never-in-batch' } }, { request: { method: 'DELETE', url: 'Patient/del-batch' } }],
    },
  });
  t.equal(batch.statusCode, 200);
  t.same(statuses(batch.json()), ['204 No Content', '204 No Content'], 'batch entries answer as DELETE does');
  t.notOk((batch.json().entry as Json[]).some((e) => e.response.outcome !== undefined || e.resource !== undefined), 'no outcome for nothing done');

  const transaction = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: 'Observation/never-in-transaction' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'Patient/p-vis' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    },
  });
  t.equal(transaction.statusCode, 200, 'a delete of nothing does not fail the transaction');
  t.same(statuses(transaction.json()), ['204 No Content', '201 Created']);
});

t.test(`a delete of what the caller may not see answers as for a missing one on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const { request } = app;
  // A Device is no clinical type (users may delete one) but is narrowed by the patient it names.
  await put(app, { resourceType: 'Device', id: 'dev-kok', patient: { reference: 'Patient/p-kok' } });
  await put(app, { resourceType: 'Device', id: 'dev-vis', patient: { reference: 'Patient/p-vis' } });

  t.equal((await request({ method: 'GET', url: '/fhir/Device/dev-kok', as: 'physio' })).statusCode, 404, 'read: hidden is as missing');
  t.equal((await request({ method: 'GET', url: '/fhir/Device/dev-none', as: 'physio' })).statusCode, 404);
  const hidden = await request({ method: 'DELETE', url: '/fhir/Device/dev-kok', as: 'physio' });
  const missing = await request({ method: 'DELETE', url: '/fhir/Device/dev-none', as: 'physio' });
  t.equal(hidden.statusCode, 204, 'delete: hidden is as missing');
  t.equal(missing.statusCode, 204);
  t.same([hidden.body, hidden.headers['etag']], [missing.body, missing.headers['etag']], 'the same answer');
  const still = await request({ method: 'GET', url: '/fhir/Device/dev-kok' });
  t.equal(still.statusCode, 200, 'the hidden resource was not deleted');
  t.equal(still.json().meta.versionId, '1');

  const visible = await request({ method: 'DELETE', url: '/fhir/Device/dev-vis', as: 'physio' });
  t.equal(visible.statusCode, 200, 'a visible one is deleted');
  t.equal((await request({ method: 'GET', url: '/fhir/Device/dev-vis' })).statusCode, 410);
});
