/**
 * The Task updates a receiving EHR makes (docs/care-workflows.md, section 1; the state machine in
 * src/domain/referral/task-states.ts): received with the owner, then accepted or rejected (with
 * statusReason); in progress, then completed with the feedback Communication in Task.output. Each
 * PATCH carries the version it read (If-Match), so a change by someone else meanwhile answers 412.
 */
import type { Communication, ServiceRequest, Task } from '@medplum/fhirtypes';
import { fhir } from './fhir-client.js';

type PatchOperation = { op: 'replace' | 'add'; path: string; value: unknown };

const versionOf = (task: Task): string | undefined => (task.meta?.versionId === undefined ? undefined : `W/"${task.meta.versionId}"`);

function patchTask(task: Task, operations: PatchOperation[]): Promise<Task> {
  return fhir<Task>(`Task/${task.id ?? ''}`, { method: 'PATCH', body: operations, contentType: 'application/json-patch+json', ifMatch: versionOf(task) });
}

/** requested -> received, naming the caller's role as owner; other states are left as they are. */
async function receive(task: Task, owner: string): Promise<Task> {
  if (task.status !== 'requested') {
    return task;
  }
  return patchTask(task, [
    { op: 'replace', path: '/status', value: 'received' },
    { op: 'add', path: '/owner', value: { reference: owner } },
  ]);
}

export async function acceptReferral(task: Task, owner: string): Promise<Task> {
  const received = await receive(task, owner);
  return patchTask(received, [{ op: 'replace', path: '/status', value: 'accepted' }]);
}

export async function rejectReferral(task: Task, owner: string, reason: string): Promise<Task> {
  const received = await receive(task, owner);
  return patchTask(received, [
    { op: 'replace', path: '/status', value: 'rejected' },
    { op: 'add', path: '/statusReason', value: { text: reason } },
  ]);
}

const FEEDBACK_TYPE = { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }], text: 'Terugkoppeling' };

/** Feedback to the referrer (profile `feedback`), then the Task completed with it as output. */
export async function completeReferral(task: Task, referral: ServiceRequest, sender: string, text: string): Promise<Task> {
  const started = task.status === 'accepted' ? await patchTask(task, [{ op: 'replace', path: '/status', value: 'in-progress' }]) : task;
  const recipient: Communication['recipient'] = referral.requester?.reference !== undefined ? [{ reference: referral.requester.reference }] : [];
  const feedback: Communication = {
    resourceType: 'Communication',
    meta: { profile: ['http://schakel.nl/fhir/StructureDefinition/feedback'] },
    status: 'completed',
    basedOn: [{ reference: `ServiceRequest/${referral.id ?? ''}` }],
    category: [FEEDBACK_TYPE],
    ...(referral.subject.reference !== undefined ? { subject: { reference: referral.subject.reference } } : {}),
    sent: new Date().toISOString(),
    sender: { reference: sender },
    recipient,
    payload: [{ contentString: text }],
  };
  const stored = await fhir<Communication>('Communication', { method: 'POST', body: feedback });
  return patchTask(started, [
    { op: 'replace', path: '/status', value: 'completed' },
    { op: 'add', path: '/output', value: [{ type: FEEDBACK_TYPE, valueReference: { reference: `Communication/${stored.id ?? ''}` } }] },
  ]);
}
