/**
 * The referral Task state machine as a table (src/domain/referral/task-states.ts): every pair of
 * FHIR Task states, allowed or not, against the transitions of docs/care-workflows.md; and the requester/owner
 * rule that authentication feeds with the caller's identity.
 */
import t from 'tap';
import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { isOperationOutcomeError } from '../../src/fhir/outcomes.js';
import { requesterAndOwnerRule, type ReferralActor } from '../../src/domain/referral/referral-actor.js';
import { allowedNext, assertTransition, isAllowed, TASK_STATUS_SYSTEM, type TaskStatus } from '../../src/domain/referral/task-states.js';

const ALL: TaskStatus[] = ['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'];

/** docs/care-workflows.md: requested -> received -> accepted | rejected; accepted -> in-progress -> completed | failed; open -> cancelled; any -> entered-in-error. */
const EXPECTED: Record<string, TaskStatus[]> = {
  '(new)': ['requested'],
  requested: ['requested', 'received', 'cancelled', 'entered-in-error'],
  received: ['received', 'accepted', 'rejected', 'cancelled', 'entered-in-error'],
  accepted: ['accepted', 'in-progress', 'cancelled', 'entered-in-error'],
  'in-progress': ['in-progress', 'completed', 'failed', 'cancelled', 'entered-in-error'],
  rejected: ['rejected', 'entered-in-error'],
  completed: ['completed', 'entered-in-error'],
  failed: ['failed', 'entered-in-error'],
  cancelled: ['cancelled', 'entered-in-error'],
  'entered-in-error': ['entered-in-error'],
  draft: ['entered-in-error'],
  ready: ['entered-in-error'],
  'on-hold': ['entered-in-error'],
};

t.test('every pair of states against the table', async (t) => {
  for (const [from, allowed] of Object.entries(EXPECTED)) {
    const start = from === '(new)' ? undefined : (from as TaskStatus);
    for (const to of ALL) {
      t.equal(isAllowed(start, to), allowed.includes(to), `${from} -> ${to}`);
    }
  }
});

t.test('a refused transition is a 409 naming the allowed states', async (t) => {
  const refusal = (from: TaskStatus | undefined, to: TaskStatus) => {
    try {
      assertTransition(from, to);
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const error = refusal('received', 'completed');
  t.ok(isOperationOutcomeError(error));
  if (isOperationOutcomeError(error)) {
    const issue = error.outcome.issue?.[0];
    t.equal(error.outcome.id, 'conflict', 'answers 409');
    t.equal(issue?.code, 'business-rule');
    t.same(issue?.expression, ['Task.status']);
    t.same(issue?.details?.coding?.map((c) => [c.system, c.code]), allowedNext('received').map((code) => [TASK_STATUS_SYSTEM, code]));
    t.same(allowedNext('received'), ['accepted', 'rejected', 'cancelled', 'entered-in-error']);
  }
  t.equal(refusal('accepted', 'in-progress'), undefined, 'an allowed transition passes');
  t.same(allowedNext(undefined), ['requested']);
  t.same(allowedNext('entered-in-error'), []);
});

t.test('only the requester cancels, only the owner moves forward', async (t) => {
  const referral: ServiceRequest = { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, requester: { reference: 'PractitionerRole/gp' }, performer: [{ reference: 'PractitionerRole/physio' }] };
  const task = (status: TaskStatus, owner?: string): Task => ({
    resourceType: 'Task',
    status,
    intent: 'order',
    requester: { reference: 'PractitionerRole/gp' },
    ...(owner ? { owner: { reference: owner } } : {}),
  });
  const as = (...references: string[]): ReferralActor => ({ references });
  const check = (from: TaskStatus, to: TaskStatus, actor: ReferralActor | undefined, previousOwner?: string, newOwner?: string) => {
    try {
      requesterAndOwnerRule({ from, to, task: task(to, newOwner ?? previousOwner), previous: task(from, previousOwner), referral }, actor);
      return 'allowed';
    } catch (error) {
      return isOperationOutcomeError(error) ? error.outcome.issue?.[0]?.code : 'thrown';
    }
  };
  t.equal(check('accepted', 'cancelled', as('PractitionerRole/gp')), 'allowed', 'the requester cancels');
  t.equal(check('accepted', 'cancelled', as('PractitionerRole/physio'), 'PractitionerRole/physio'), 'forbidden', 'the owner may not cancel');
  t.equal(check('accepted', 'in-progress', as('PractitionerRole/physio'), 'PractitionerRole/physio'), 'allowed', 'the owner moves forward');
  t.equal(check('accepted', 'in-progress', as('PractitionerRole/gp'), 'PractitionerRole/physio'), 'forbidden', 'the requester may not move it forward');
  t.equal(check('requested', 'received', as('PractitionerRole/physio'), undefined, 'PractitionerRole/physio'), 'allowed', 'the receiver takes ownership on received');
  t.equal(check('requested', 'received', as('Organization/elsewhere')), 'forbidden', 'nobody else receives it');
  t.equal(check('in-progress', 'entered-in-error', as('Organization/elsewhere')), 'allowed', 'corrections are not transitions of this rule');
  t.equal(check('accepted', 'cancelled', undefined), 'allowed', 'without an actor (no authentication yet) the rule is silent');
  t.equal(check('accepted', 'cancelled', { references: [], system: true }), 'allowed', 'a system client is not bound by it');
});
