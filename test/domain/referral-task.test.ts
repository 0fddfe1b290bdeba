/**
 * The referral Task state machine over HTTP (docs/care-workflows.md): every allowed and forbidden transition on
 * update, patch, create and inside transactions, the requirements of rejected and completed, the
 * referral's status that follows the Task, and the actor seam that authentication plugs into.
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { ReferralActor } from '../../src/domain/referral/referral-actor.js';
import { allowedNext, type TaskStatus } from '../../src/domain/referral/task-states.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { feedback, feedbackOutput, loadWorld, referral, write } from '../helpers/care.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';
import { referralBundle } from '../helpers/referral.js';
import type { Json } from '../helpers/search.js';

const ALL: TaskStatus[] = ['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'];
/** How to reach each state from requested. */
const PATHS: Record<string, TaskStatus[]> = {
  requested: [],
  received: ['received'],
  accepted: ['received', 'accepted'],
  rejected: ['received', 'rejected'],
  'in-progress': ['received', 'accepted', 'in-progress'],
  completed: ['received', 'accepted', 'in-progress', 'completed'],
  failed: ['received', 'accepted', 'in-progress', 'failed'],
  cancelled: ['cancelled'],
  'entered-in-error': ['entered-in-error'],
};

t.test(`referral Task state machine on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  let counter = 0;

  /** A referral and its Task (not claiming the profile: the rules hold for every referral Task). */
  async function newReferral(intent = 'order'): Promise<{ sr: string; task: string; feedback: string }> {
    counter++;
    const sr = await write(app, { ...referral(), meta: undefined, intent, id: `sr-${counter}` });
    const fb = await write(app, { ...feedback(sr.id), id: `fb-${counter}` });
    const task = await write(app, {
      resourceType: 'Task',
      id: `task-${counter}`,
      status: 'requested',
      intent: 'order',
      focus: { reference: `ServiceRequest/${sr.id as string}` },
      for: { reference: 'Patient/pat-1' },
      requester: { reference: 'PractitionerRole/gp' },
      owner: { reference: 'PractitionerRole/physio' },
    });
    return { sr: sr.id, task: task.id, feedback: fb.id };
  }
  const read = async (url: string): Promise<Json> => (await app.request({ method: 'GET', url: `/fhir/${url}` })).json();
  /** The Task with `status` and whatever that state needs (statusReason, feedback output). */
  const withStatus = (task: Json, status: TaskStatus, fb: string): Json => ({
    ...task,
    status,
    ...(status === 'rejected' ? { statusReason: { text: 'Geen plek' } } : {}),
    ...(status === 'completed' ? { output: feedbackOutput(fb) } : {}),
  });
  const put = async (ids: { task: string; feedback: string }, status: TaskStatus, extra: Json = {}) =>
    app.request({ method: 'PUT', url: `/fhir/Task/${ids.task}`, body: { ...withStatus(await read(`Task/${ids.task}`), status, ids.feedback), ...extra } });
  async function walk(ids: { task: string; feedback: string }, path: TaskStatus[]): Promise<void> {
    for (const status of path) {
      const response = await put(ids, status);
      if (response.statusCode !== 200) {
        throw new Error(`${status}: ${response.statusCode} ${response.body}`);
      }
    }
  }
  const assertRefused = (response: Awaited<ReturnType<typeof put>>, allowed: TaskStatus[], label: string) => {
    t.equal(response.statusCode, 409, `${label}: 409`);
    const found = issuesOf(response) as Json[];
    t.ok(
      found.some((i) => i.code === 'business-rule' && i.expression?.includes('Task.status') && JSON.stringify(i.details.coding.map((c: Json) => c.code)) === JSON.stringify(allowed)),
      `${label}: names the allowed states ${allowed.join(', ')}; got ${JSON.stringify(found)}`
    );
  };

  t.test('every allowed transition, and the referral that follows the Task', async (t) => {
    const expectations: Array<[TaskStatus[], string]> = [
      [['received', 'accepted', 'in-progress', 'completed'], 'completed'],
      [['received', 'rejected'], 'revoked'],
      [['received', 'accepted', 'in-progress', 'failed'], 'active'],
      [['cancelled'], 'revoked'],
      [['received', 'cancelled'], 'revoked'],
      [['received', 'accepted', 'cancelled'], 'revoked'],
      [['received', 'accepted', 'in-progress', 'cancelled'], 'revoked'],
      [['entered-in-error'], 'active'],
      [['received', 'accepted', 'in-progress', 'completed', 'entered-in-error'], 'completed'],
    ];
    for (const [path, referralStatus] of expectations) {
      const ids = await newReferral();
      for (const status of path) {
        const response = await put(ids, status);
        t.equal(response.statusCode, 200, `${path.join(' -> ')}: ${status}`);
      }
      t.equal((await read(`Task/${ids.task}`)).status, path[path.length - 1]);
      t.equal((await read(`ServiceRequest/${ids.sr}`)).status, referralStatus, `${path.join(' -> ')}: the referral is ${referralStatus}`);
    }
    const ids = await newReferral();
    await walk(ids, ['received', 'accepted', 'in-progress']);
    const same = await put(ids, 'in-progress', { businessStatus: { text: 'Vierde behandeling gedaan' } });
    t.equal(same.statusCode, 200, 'an update within a state is no transition');
    t.equal((await read(`ServiceRequest/${ids.sr}`)).meta.versionId, '1', 'and leaves the referral alone');
  });

  t.test('every forbidden transition on update answers 409 naming the allowed ones', async (t) => {
    for (const [state, path] of Object.entries(PATHS)) {
      const ids = await newReferral();
      await walk(ids, path);
      const allowed = allowedNext(state as TaskStatus);
      for (const to of ALL.filter((s) => s !== state && !allowed.includes(s))) {
        assertRefused(await put(ids, to), allowed, `${state} -> ${to}`);
      }
      t.equal((await read(`Task/${ids.task}`)).status, state, `${state}: the Task did not move`);
    }
  });

  t.test('create starts at requested', async (t) => {
    const ids = await newReferral();
    for (const status of ALL.filter((s) => s !== 'requested')) {
      const body = withStatus({ resourceType: 'Task', intent: 'order', focus: { reference: `ServiceRequest/${ids.sr}` }, for: { reference: 'Patient/pat-1' }, owner: { reference: 'PractitionerRole/physio' } }, status, ids.feedback);
      assertRefused(await app.request({ method: 'POST', url: '/fhir/Task', body }), ['requested'], `create as ${status}`);
    }
    const plan = await newReferral('plan');
    const free = await app.request({ method: 'POST', url: '/fhir/Task', body: { resourceType: 'Task', status: 'in-progress', intent: 'order', focus: { reference: `ServiceRequest/${plan.sr}` } } });
    t.equal(free.statusCode, 201, 'a Task on a ServiceRequest that is no order is not a referral Task');
    const other = await app.request({ method: 'POST', url: '/fhir/Task', body: { resourceType: 'Task', status: 'completed', intent: 'order', focus: { reference: 'Patient/pat-1' } } });
    t.equal(other.statusCode, 201, 'nor is a Task on anything else');
  });

  t.test('rejected needs a reason, completed needs feedback based on the referral', async (t) => {
    const ids = await newReferral();
    await walk(ids, ['received']);
    assertIssue(t, await put(ids, 'rejected', { statusReason: undefined }), 422, 'required', 'Task.statusReason');
    await walk(ids, ['accepted', 'in-progress']);
    assertIssue(t, await put(ids, 'completed', { output: undefined }), 422, 'required', 'Task.output');
    const elsewhere = await newReferral();
    assertIssue(t, await put(ids, 'completed', { output: feedbackOutput(elsewhere.feedback) }), 422, 'invariant', 'Task.output[0].valueReference');
    t.equal((await read(`Task/${ids.task}`)).status, 'in-progress', 'nothing was written');
    t.equal((await put(ids, 'completed')).statusCode, 200, 'with its own feedback it completes');
  });

  t.test('patch goes through the same rules', async (t) => {
    const ids = await newReferral();
    const patch = (ops: Json[]) =>
      app.request({ method: 'PATCH', url: `/fhir/Task/${ids.task}`, body: ops, headers: { 'content-type': 'application/json-patch+json' } });
    t.equal((await patch([{ op: 'replace', path: '/status', value: 'received' }])).statusCode, 200, 'requested -> received');
    assertRefused(await patch([{ op: 'replace', path: '/status', value: 'completed' }]), allowedNext('received'), 'received -> completed by patch');
    t.equal((await patch([{ op: 'replace', path: '/status', value: 'rejected' }, { op: 'add', path: '/statusReason', value: { text: 'Vol' } }])).statusCode, 200, 'received -> rejected');
    t.equal((await read(`ServiceRequest/${ids.sr}`)).status, 'revoked');
  });

  t.test('transactions: entries in any order, all or nothing', async (t) => {
    // A person of their own: the world's pat-1 already holds the helper's default BSN.
    const created = await app.request({ method: 'POST', url: '/fhir', body: referralBundle({ bsn: '999900146' }) });
    t.equal(created.statusCode, 200, 'Task before its ServiceRequest and Patient');
    const early = referralBundle({ taskStatus: 'accepted', bsn: '999900031' });
    const refused = await app.request({ method: 'POST', url: '/fhir', body: early });
    t.equal(refused.statusCode, 409);
    assertIssue(t, refused, 409, 'business-rule', 'Bundle.entry[0].resource.status');

    const ids = await newReferral();
    await walk(ids, ['received', 'accepted', 'in-progress']);
    const task = await read(`Task/${ids.task}`);
    const completing = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...task, status: 'completed', output: [{ type: { text: 'Terugkoppeling' }, valueReference: { reference: 'urn:uuid:1b7f3d0e-2c4a-4b8e-9d1f-5a6b7c8d9e01' } }] }, request: { method: 'PUT', url: `Task/${ids.task}` } },
        { fullUrl: 'urn:uuid:1b7f3d0e-2c4a-4b8e-9d1f-5a6b7c8d9e01', resource: feedback(ids.sr), request: { method: 'POST', url: 'Communication' } },
      ],
    };
    t.equal((await app.request({ method: 'POST', url: '/fhir', body: completing })).statusCode, 200, 'completed with feedback written in the same Bundle');
    t.equal((await read(`ServiceRequest/${ids.sr}`)).status, 'completed', 'the referral completed in the same transaction');

    const other = await newReferral();
    const before = await read(`Task/${other.task}`);
    const forbidden = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Tussendoor' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...before, status: 'completed', output: feedbackOutput(other.feedback) }, request: { method: 'PUT', url: `Task/${other.task}` } },
      ],
    };
    const response = await app.request({ method: 'POST', url: '/fhir', body: forbidden });
    assertIssue(t, response, 409, 'business-rule', 'Bundle.entry[1].resource.status');
    t.equal((await read(`Task/${other.task}`)).meta.versionId, before.meta.versionId, 'the Task is unchanged');
    t.equal((await app.request({ method: 'GET', url: '/fhir/Patient?family=Tussendoor' })).json().total, 0, 'and nothing else of the Bundle was written');
  });

  t.test('the actor seam: requester cancels, owner moves forward (authentication supplies the actor)', async (t) => {
    let actor: ReferralActor | undefined;
    const guarded = await buildApp({
      config: testConfig(),
      db: app.database.db,
      closeDatabase: false,
      auth: await testAuthSetup(),
      careWorkflows: { referral: { actorOf: () => actor } },
    });
    t.teardown(() => guarded.close());
    const request = injector(guarded);
    const ids = await newReferral();
    const move = async (status: TaskStatus) =>
      request({ method: 'PUT', url: `/fhir/Task/${ids.task}`, body: withStatus(await read(`Task/${ids.task}`), status, ids.feedback) });
    actor = { references: ['Practitioner/gp', 'PractitionerRole/gp'] };
    assertIssue(t, await move('received'), 403, 'forbidden');
    actor = { references: ['PractitionerRole/physio'] };
    t.equal((await move('received')).statusCode, 200, 'the owner receives it');
    assertIssue(t, await move('cancelled'), 403, 'forbidden');
    actor = { references: ['PractitionerRole/gp'] };
    t.equal((await move('cancelled')).statusCode, 200, 'the requester cancels it');
  });
});
