import t from 'tap';
import { withoutProvenance } from '../helpers/search.js';
import { createTestApp, engine } from '../helpers/app.js';
import { referralBundle, referralPatient, uniqueBsn } from '../helpers/referral.js';

const batch = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'batch', entry });
const statuses = (res: { json: () => { entry: Array<{ response: { status: string } }> } }) => res.json().entry.map((e) => e.response.status);

t.test(`a batch with good and bad entries on ${engine}`, async (t) => {
  const { request, startedAt } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/known', body: { ...referralPatient(), id: 'known' } });
  const res = await request({
    method: 'POST',
    url: '/fhir',
    body: batch([
      { resource: referralPatient('999911156'), request: { method: 'POST', url: 'Patient' } },
      { resource: { ...referralPatient(), gender: 'neither' }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'GET', url: 'Patient/unknown' } },
      { resource: { ...referralPatient(uniqueBsn()), id: 'new' }, request: { method: 'PUT', url: 'Patient/new' } },
      { request: { method: 'DELETE', url: 'Patient/nope' } },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'urn:uuid:44444444-4444-4444-8444-444444444444' } },
        request: { method: 'POST', url: 'Observation' },
      },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'Patient?identifier=123' } },
        request: { method: 'POST', url: 'Observation' },
      },
      { resource: { ...referralPatient(), id: 'known' }, request: { method: 'PUT', url: 'Patient/known', ifMatch: 'W/"9"' } },
      { request: { method: 'GET', url: 'https://elsewhere.example/fhir/Patient/known' } },
      { request: { method: 'GET', url: 'Patient/known' } },
    ]),
  });
  t.equal(res.statusCode, 200, 'a batch answers 200 whatever its entries do');
  const body = res.json();
  t.equal(body.type, 'batch-response');
  t.same(statuses(res), [
    '201 Created',
    '422 Unprocessable Content',
    '404 Not Found',
    '201 Created',
    '204 No Content',
    '400 Bad Request',
    '400 Bad Request',
    '412 Precondition Failed',
    '400 Bad Request',
    '200 OK',
  ]);
  type Issue = { code: string; expression: string[] };
  type Outcome = { id?: string; resourceType: string; issue: [Issue, ...Issue[]] };
  const outcome = (i: number) => body.entry[i].response.outcome as Outcome;
  t.equal(outcome(1).resourceType, 'OperationOutcome');
  t.equal(outcome(1).id, undefined);
  t.ok(outcome(1).issue.some((i: { expression: string[] }) => i.expression.includes('Bundle.entry[1].resource.gender')));
  t.equal(outcome(2).issue[0].code, 'not-found');
  t.same(outcome(2).issue[0].expression, ['Bundle.entry[2]']);
  t.same(outcome(5).issue[0].expression, ['Bundle.entry[5].resource.subject']);
  t.equal(outcome(6).issue[0].code, 'not-supported', 'conditional references belong to transactions');
  t.equal(outcome(7).issue[0].code, 'conflict');
  t.same(outcome(8).issue[0].expression, ['Bundle.entry[8].request.url']);
  t.equal(body.entry[9].resource.id, 'known');
  t.equal(body.entry[9].fullUrl, 'http://localhost:80/fhir/Patient/known');

  t.equal((await request({ method: 'GET', url: `/fhir/${body.entry[0].response.location.split('/fhir/')[1]}` })).statusCode, 200, 'good entries committed');
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/new' })).statusCode, 200);
  const history = withoutProvenance((await request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(startedAt)}` })).json().entry);
  t.equal(history.length, 3, 'the PUT before the batch and the two good writes');
});

t.test(`a transaction inside a batch runs atomically on its own on ${engine}`, async (t) => {
  const { request, startedAt } = await createTestApp(t);
  const res = await request({
    method: 'POST',
    url: '/fhir',
    headers: { prefer: 'return=minimal' },
    body: batch([
      { resource: referralPatient('999911168'), request: { method: 'POST', url: 'Patient' } },
      { resource: referralBundle({ taskStatus: 'bogus' }), request: { method: 'POST', url: '/' } },
      { resource: referralBundle({ bsn: '999911181' }), request: { method: 'POST', url: 'http://localhost:80/fhir' } },
      { resource: batch([{ request: { method: 'GET', url: 'Patient' } }]), request: { method: 'POST', url: '/' } },
    ]),
  });
  t.equal(res.statusCode, 200);
  t.same(statuses(res), ['201 Created', '422 Unprocessable Content', '200 OK', '400 Bad Request']);
  const body = res.json();
  t.ok(
    body.entry[1].response.outcome.issue.some((i: { expression: string[] }) => i.expression.includes('Bundle.entry[1].resource.entry[0].resource.status')),
    'issues of the inner transaction are rooted in the outer Bundle'
  );
  const inner = body.entry[2].resource;
  t.equal(inner.type, 'transaction-response');
  t.same(inner.entry.map((e: { response: { status: string } }) => e.response.status), ['201 Created', '201 Created', '201 Created']);
  t.equal(inner.entry[0].resource, undefined, 'Prefer reaches the inner transaction');
  t.equal(body.entry[3].response.outcome.issue[0].code, 'not-supported', 'no batch inside a batch');
  const history = withoutProvenance((await request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(startedAt)}` })).json().entry);
  t.equal(history.length, 4, 'one patient, one referral of three resources; nothing of the failed transaction');
});

t.test(`Prefer in a batch on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const entries = () => [{ resource: referralPatient(uniqueBsn()), request: { method: 'POST', url: 'Patient' } }];
  const outcome = await request({ method: 'POST', url: '/fhir', headers: { prefer: 'return=OperationOutcome' }, body: batch(entries()) });
  t.equal(outcome.json().entry[0].resource, undefined);
  t.equal(outcome.json().entry[0].response.outcome.issue[0].code, 'informational');
  const representation = await request({ method: 'POST', url: '/fhir', body: batch(entries()) });
  t.equal(representation.json().entry[0].resource.resourceType, 'Patient');
  t.match(representation.json().entry[0].response.lastModified, /Z$/);
});
