// Write rules (docs/security.md): scopes, referral actors, reference visibility, compartment changes, no hard deletes.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/auth.js';
import { careScenario, careTeam, observation } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';
import { put } from '../helpers/search.js';

t.test(`scopes bound the kind of operation on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const readOnly = `Bearer ${await tokenFor(app.app, 'gp', { scope: 'user/Observation.rs' })}`;
  const as = (method: 'GET' | 'POST', url: string, body?: unknown) => app.request({ method, url, body, headers: { authorization: readOnly } });
  t.equal((await as('GET', '/fhir/Observation/obs-vis')).statusCode, 200);
  assertIssue(t, await as('POST', '/fhir/Observation', observation('x', 'p-vis')), 403, 'forbidden');
  assertIssue(t, await as('GET', '/fhir/Patient/p-vis'), 403, 'forbidden');
  assertIssue(t, await as('GET', '/fhir/Patient?name=visser'), 403, 'forbidden');
  const readNoSearch = `Bearer ${await tokenFor(app.app, 'admin', { scope: 'system/Patient.r' })}`;
  t.equal((await app.request({ method: 'GET', url: '/fhir/Patient/p-vis', headers: { authorization: readNoSearch } })).statusCode, 200);
  assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Patient', headers: { authorization: readNoSearch } }), 403, 'forbidden');
  const v1 = `Bearer ${await tokenFor(app.app, 'admin', { scope: 'system/Observation.read' })}`;
  t.equal((await app.request({ method: 'GET', url: '/fhir/Observation?_count=1', headers: { authorization: v1 } })).statusCode, 200, 'v1 .read includes search');
  assertIssue(t, await app.request({ method: 'DELETE', url: '/fhir/Observation/obs-vis', headers: { authorization: v1 } }), 403, 'forbidden');
  const entry = await app.request({
    method: 'POST',
    url: '/fhir',
    headers: { authorization: readOnly },
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: observation('y', 'p-vis'), request: { method: 'PUT', url: 'Observation/y' } }] },
  });
  assertIssue(t, entry, 403, 'forbidden');
  t.equal((await app.request({ method: 'GET', url: '/fhir/Observation/y' })).statusCode, 404, 'nothing of the refused transaction was written');
});

async function referral(app: TestApp, suffix = ''): Promise<void> {
  await put(app, { resourceType: 'ServiceRequest', id: `sr${suffix}`, status: 'active', intent: 'order', subject: { reference: 'Patient/p-kok' }, requester: { reference: 'PractitionerRole/t-gp-role' }, performer: [{ reference: 'Organization/t-physio' }] });
  await put(app, {
    resourceType: 'Task',
    id: `task${suffix}`,
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/sr${suffix}` },
    for: { reference: 'Patient/p-kok' },
    requester: { reference: 'PractitionerRole/t-gp-role' },
    owner: { reference: 'Organization/t-physio' },
  });
}

t.test(`only the requester cancels a referral, only the owner moves it forward on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await referral(app);
  const task = async (as: 'gp' | 'physio' | 'admin', status: string, id = 'task') => {
    const current = (await app.request({ method: 'GET', url: `/fhir/Task/${id}` })).json();
    return app.request({ method: 'PUT', url: `/fhir/Task/${id}`, as, body: { ...current, status } });
  };
  assertIssue(t, await task('gp', 'received'), 403, 'forbidden', 'Task.status');
  t.equal((await task('physio', 'received')).statusCode, 200, 'the owner receives it');
  t.equal((await task('physio', 'accepted')).statusCode, 200, 'and accepts it');
  assertIssue(t, await task('physio', 'cancelled'), 403, 'forbidden', 'Task.status');
  t.equal((await task('gp', 'cancelled')).statusCode, 200, 'the requester cancels it');

  await referral(app, '-2');
  t.equal((await task('admin', 'received', 'task-2')).statusCode, 200, 'a system client is not bound by the actor rules');
  const patch = await app.request({
    method: 'PATCH',
    url: '/fhir/Task/task-2',
    as: 'gp',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify([{ op: 'replace', path: '/status', value: 'accepted' }]),
  });
  assertIssue(t, patch, 403, 'forbidden', 'Task.status');
  const created = await app.request({
    method: 'POST',
    url: '/fhir/Task',
    as: 'gp',
    body: { resourceType: 'Task', status: 'accepted', intent: 'order', focus: { reference: 'ServiceRequest/sr' }, for: { reference: 'Patient/p-kok' }, owner: { reference: 'Organization/t-physio' } },
  });
  assertIssue(t, created, 409, 'business-rule', 'Task.status');
});

t.test(`references must be visible, patients cannot change, clinical data is not deleted on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const hiddenRef = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'physio', body: observation('', 'p-vis', { id: undefined, derivedFrom: [{ reference: 'Observation/obs-kok' }] }) });
  assertIssue(t, hiddenRef, 422, 'not-found', 'Observation.derivedFrom[0]');
  const missingRef = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'physio', body: observation('', 'p-vis', { id: undefined, derivedFrom: [{ reference: 'Observation/nothing' }] }) });
  assertIssue(t, missingRef, 422, 'not-found', 'Observation.derivedFrom[0]');
  t.same(hiddenRef.json().issue.map((i: any) => i.code), missingRef.json().issue.map((i: any) => i.code), 'a hidden target answers as a missing one');
  assertIssue(t, await app.request({ method: 'POST', url: '/fhir/Observation', as: 'physio', body: observation('', 'p-kok', { id: undefined }) }), 422, 'not-found', 'Observation.subject');
  t.equal((await app.request({ method: 'POST', url: '/fhir/Observation', as: 'physio', body: observation('', 'p-vis', { id: undefined }) })).statusCode, 201, 'a visible patient');

  const moved = await app.request({ method: 'PUT', url: '/fhir/Observation/obs-vis', as: 'gp', body: observation('obs-vis', 'p-kok') });
  assertIssue(t, moved, 422, 'business-rule');
  assertIssue(t, await app.request({ method: 'PUT', url: '/fhir/Observation/obs-vis', body: observation('obs-vis', 'p-kok') }), 422, 'business-rule');
  t.equal((await app.request({ method: 'PUT', url: '/fhir/Observation/obs-vis', as: 'gp', body: observation('obs-vis', 'p-vis', { status: 'amended' }) })).statusCode, 200, 'same patient');
  assertIssue(t, await app.request({ method: 'PUT', url: '/fhir/Observation/obs-kok', as: 'physio', body: observation('obs-kok', 'p-kok', { status: 'amended' }) }), 404, 'not-found');

  await put(app, observation('obs-spare', 'p-vis'));
  assertIssue(t, await app.request({ method: 'DELETE', url: '/fhir/Observation/obs-spare', as: 'gp' }), 403, 'forbidden');
  t.equal((await app.request({ method: 'PUT', url: '/fhir/Observation/obs-spare', as: 'gp', body: observation('obs-spare', 'p-vis', { status: 'entered-in-error' }) })).statusCode, 200, 'entered-in-error instead');
  t.equal((await app.request({ method: 'DELETE', url: '/fhir/Observation/obs-spare' })).statusCode, 200, 'an integration engine may delete');
  await put(app, careTeam('ct-spare', 'p-vis', ['gp']));
  assertIssue(t, await app.request({ method: 'DELETE', url: '/fhir/CareTeam/ct-spare', as: 'gp' }), 403, 'forbidden');
});
