/**
 * A completed response completes the measurement Task it answers. R4 QuestionnaireResponse.basedOn
 * cannot point at a Task (only CarePlan and ServiceRequest), so the server matches: an open Task
 * for the same patient whose focus is the response's Questionnaire (that exact version) and whose
 * due window (Task.restriction.period, date precision, ends inclusive) contains the response's
 * authored date. Of several, the one due first is completed (windows of a short treatment can
 * overlap; measurements are taken in order). The Task becomes `completed` with the response in
 * Task.output, in the same transaction as the response.
 *
 * A response that was matched before is not matched again; when it is entered in error or no
 * longer completed, the Task it completed opens again (`requested`, output removed).
 */
import type { QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import { parseDateRange } from '../../fhir/dates.js';
import { parseLocalReference } from '../../fhir/references.js';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { PAIN_OUTCOMES_SYSTEM } from '../canonical-urls.js';
import { findResources } from '../find-resources.js';

type StoredResponse = QuestionnaireResponse & { id: string };

/** Task states in which a measurement is still awaited (https://hl7.org/fhir/R4/task.html#statemachine). */
export const OPEN_TASK_STATES = ['requested', 'received', 'accepted', 'ready', 'in-progress'] as const;

const OUTPUT_TYPE = {
  coding: [{ system: PAIN_OUTCOMES_SYSTEM, code: 'questionnaire-response', display: 'Ingevulde vragenlijst' }],
};

function window(task: Task): { start: number; end: number } | undefined {
  const period = task.restriction?.period;
  const start = period?.start ? parseDateRange(period.start)?.start : undefined;
  const end = period?.end ? parseDateRange(period.end)?.end : undefined;
  return start && end ? { start: start.getTime(), end: end.getTime() } : undefined;
}

function outputsResponse(task: Task, responseId: string): boolean {
  return (task.output ?? []).some((o) => o.valueReference?.reference === `QuestionnaireResponse/${responseId}`);
}

/** Locks a Task and answers its current content, so that two responses cannot both complete it. */
async function lockedTask(repo: Repository, id: string): Promise<Task & { id: string }> {
  await repo.lock(`Task/${id}`);
  return repo.readResource<Task & { id: string }>('Task', id);
}

async function reopen(repo: Repository, tasks: readonly Task[], responseId: string, now: string): Promise<void> {
  for (const found of tasks) {
    const task = await lockedTask(repo, found.id as string);
    if (task.status === 'completed' && outputsResponse(task, responseId)) {
      const output = (task.output ?? []).filter((o) => o.valueReference?.reference !== `QuestionnaireResponse/${responseId}`);
      const { output: _output, ...rest } = task;
      await repo.update({ ...rest, status: 'requested', lastModified: now, ...(output.length > 0 ? { output } : {}) });
    }
  }
}

/**
 * After a response is written: completes its measurement Task, or reopens one it no longer answers.
 * `fresh`: the response id was never used before, so no Task points at it yet.
 */
export async function matchMeasurementTask(
  repo: Repository,
  search: SearchService,
  response: StoredResponse,
  questionnaireId: string,
  options: { readonly now: string; readonly fresh: boolean; readonly baseUrl?: string | undefined }
): Promise<void> {
  const { now } = options;
  const linked = options.fresh ? [] : await findResources<Task>(repo, search, 'Task', [['output', `QuestionnaireResponse/${response.id}`]], 10);
  const completed = response.status === 'completed' || response.status === 'amended';
  if (!completed) {
    await reopen(repo, linked, response.id, now);
    return;
  }
  const patient = response.subject?.reference ? parseLocalReference(response.subject.reference, options.baseUrl) : undefined;
  const authored = parseDateRange(response.authored ?? now)?.start.getTime();
  if (linked.length > 0 || patient?.resourceType !== 'Patient' || authored === undefined) {
    return;
  }
  const candidates = await findResources<Task>(repo, search, 'Task', [
    ['subject', `Patient/${patient.id}`],
    ['focus', `Questionnaire/${questionnaireId}`],
    ['status', OPEN_TASK_STATES.join(',')],
  ]);
  const due = candidates
    .map((task) => ({ task, window: window(task) }))
    .filter((c) => c.window !== undefined && c.window.start <= authored && authored < c.window.end)
    .sort((a, b) => (a.window?.start ?? 0) - (b.window?.start ?? 0) || (a.window?.end ?? 0) - (b.window?.end ?? 0) || String(a.task.id).localeCompare(String(b.task.id)));
  for (const { task: found } of due) {
    const task = await lockedTask(repo, found.id as string);
    if (!(OPEN_TASK_STATES as readonly string[]).includes(task.status)) {
      continue;
    }
    await repo.update({
      ...task,
      status: 'completed',
      lastModified: now,
      output: [...(task.output ?? []), { type: OUTPUT_TYPE, valueReference: { reference: `QuestionnaireResponse/${response.id}` } }],
    });
    return;
  }
}
