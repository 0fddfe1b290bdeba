/**
 * Applies a measurement set to one treatment (PlanDefinition $apply, R4 plandefinition.html
 * "Applying a PlanDefinition"): one Task per moment and instrument, and a RequestGroup that holds
 * them, both stored. Each Task asks the patient (`for` and `owner`) to fill in one Questionnaire
 * (`focus`, the exact version; also `input` as canonical) within its due window
 * (`restriction.period`), is basedOn the CarePlan, instantiates the PlanDefinition and shares the
 * RequestGroup's groupIdentifier. Its focus is a Questionnaire, never a ServiceRequest, so the
 * referral Task state machine (docs/care-workflows.md) does not apply to it.
 *
 * The Tasks are written before the RequestGroup that references them (groupIdentifier links them
 * the other way), so no write references a resource that does not exist yet.
 */
import { randomUUID } from 'node:crypto';
import type { CarePlan, Identifier, Patient, PlanDefinition, Reference, RequestGroup, RequestGroupAction, Task } from '@medplum/fhirtypes';
import { issue, OperationOutcomeError, outcome, unprocessable } from '../../fhir/outcomes.js';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { PAIN_OUTCOMES_SYSTEM } from '../canonical-urls.js';
import { findResources, searchValue } from '../find-resources.js';
import { resolveQuestionnaire, type ResolvedQuestionnaire } from '../questionnaires/resolve-questionnaire.js';
import { addDays, calendarDate, daysBetween, shift } from './calendar.js';
import { measurementMoments, type MeasurementMoment } from './measurement-set.js';

export interface ApplyInput {
  readonly plan: PlanDefinition & { id: string };
  readonly patientId: string;
  readonly carePlan: CarePlan & { id: string };
  /** Who applies the plan ($apply `practitioner` or `organization`). */
  readonly requester: Task['requester'];
  readonly now: string;
}

export interface DueWindow {
  readonly start: string;
  readonly end: string;
}

/** The due window of a moment for a treatment from `start` to `end` (dates). */
export function momentWindow(moment: MeasurementMoment, start: string, end: string): DueWindow {
  let anchor = moment.anchor === 'start' ? addDays(start, Math.round(moment.fraction * daysBetween(start, end))) : end;
  if (moment.offset) {
    anchor = shift(anchor, moment.offset, moment.sign);
  }
  return { start: shift(anchor, moment.halfWidth, -1), end: shift(anchor, moment.halfWidth, 1) };
}

function treatmentPeriod(carePlan: CarePlan, patientId: string): DueWindow {
  const start = calendarDate(carePlan.period?.start);
  const end = calendarDate(carePlan.period?.end);
  const problems = [];
  if (carePlan.subject?.reference !== `Patient/${patientId}`) {
    problems.push(issue({ code: 'business-rule', text: `CarePlan/${carePlan.id} is not a plan of Patient/${patientId}`, expression: 'CarePlan.subject' }));
  }
  if (!start || !end || end < start) {
    problems.push(
      issue({ code: 'business-rule', text: 'The treatment needs a CarePlan.period with a start and a planned end (not before the start)', expression: 'CarePlan.period' })
    );
  }
  if (problems.length > 0 || !start || !end) {
    throw unprocessable(problems);
  }
  return { start, end };
}

async function resolveInstruments(repo: Repository, search: SearchService, moments: readonly MeasurementMoment[]): Promise<Map<string, ResolvedQuestionnaire>> {
  const found = new Map<string, ResolvedQuestionnaire>();
  for (const instrument of moments.flatMap((m) => m.instruments)) {
    if (found.has(instrument.canonical)) {
      continue;
    }
    const questionnaire = await resolveQuestionnaire(repo, search, instrument.canonical);
    if (!questionnaire) {
      throw unprocessable([issue({ code: 'not-found', text: `Questionnaire ${instrument.canonical} is not known to this server`, expression: instrument.path })]);
    }
    found.set(instrument.canonical, questionnaire);
  }
  return found;
}

/** 409 when the set was applied to this treatment before (and its Tasks were not cancelled). */
async function refuseSecondSchedule(repo: Repository, search: SearchService, carePlanId: string, moments: readonly MeasurementMoment[]): Promise<void> {
  const codes = moments.map((m) => `${searchValue(m.code.system ?? '')}|${searchValue(m.code.code ?? '')}`).join(',');
  const [existing] = await findResources<Task>(repo, search, 'Task', [['based-on', `CarePlan/${carePlanId}`], ['code', codes], ['status:not', 'cancelled']], 1);
  if (existing) {
    throw new OperationOutcomeError(
      outcome('conflict', [
        issue({ code: 'duplicate', text: `CarePlan/${carePlanId} already has a measurement schedule (Task/${existing.id}); cancel its Tasks to schedule again`, expression: 'carePlan' }),
      ])
    );
  }
}

export async function applyMeasurementSet(repo: Repository, search: SearchService, input: ApplyInput): Promise<RequestGroup> {
  const { plan, patientId, carePlan, requester, now } = input;
  const moments = measurementMoments(plan);
  const treatment = treatmentPeriod(carePlan, patientId);
  const instruments = await resolveInstruments(repo, search, moments);
  await repo.lock(`measurement-schedule/CarePlan/${carePlan.id}`);
  await refuseSecondSchedule(repo, search, carePlan.id, moments);

  const planCanonical = plan.version ? `${plan.url ?? ''}|${plan.version}` : (plan.url ?? '');
  const groupIdentifier: Identifier = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` };
  const patient: Reference<Patient> = { reference: `Patient/${patientId}` };
  const actions: RequestGroupAction[] = [];
  for (const moment of moments) {
    const window = momentWindow(moment, treatment.start, treatment.end);
    const sub: RequestGroupAction[] = [];
    for (const instrument of moment.instruments) {
      const found = instruments.get(instrument.canonical) as ResolvedQuestionnaire;
      const title = instrument.title ?? found.questionnaire.title ?? found.questionnaire.name ?? found.canonical;
      const task: Task = {
        resourceType: 'Task',
        instantiatesCanonical: planCanonical,
        basedOn: [{ reference: `CarePlan/${carePlan.id}` }],
        groupIdentifier,
        status: 'requested',
        intent: 'order',
        priority: 'routine',
        code: { coding: [moment.code], text: moment.title },
        description: `${title} invullen: ${moment.title}`,
        focus: { reference: `Questionnaire/${found.questionnaire.id}`, display: title },
        for: patient,
        authoredOn: now,
        lastModified: now,
        ...(requester ? { requester } : {}),
        owner: patient,
        restriction: { period: window },
        input: [{ type: { coding: [{ system: PAIN_OUTCOMES_SYSTEM, code: 'questionnaire', display: 'Vragenlijst' }] }, valueCanonical: found.canonical }],
      };
      const written = await repo.create(task);
      sub.push({ title, resource: { reference: `Task/${written.version.id}` } });
    }
    actions.push({ title: moment.title, code: [{ coding: [moment.code] }], timingPeriod: window, action: sub });
  }
  const group: RequestGroup = {
    resourceType: 'RequestGroup',
    instantiatesCanonical: [planCanonical],
    basedOn: [{ reference: `CarePlan/${carePlan.id}` }],
    groupIdentifier,
    status: 'active',
    intent: 'plan',
    code: { text: plan.title ?? plan.name ?? planCanonical },
    subject: patient,
    authoredOn: now,
    // RequestGroup.author takes a Practitioner(Role) or Device, not an Organization.
    ...(requester?.reference && /^Practitioner(Role)?\//.test(requester.reference) ? { author: requester as RequestGroup['author'] } : {}),
    action: actions,
  };
  return (await repo.create(group)).resource as RequestGroup;
}
