// $apply: https://hl7.org/fhir/R4/plandefinition-operation-apply.html
/**
 * Schedules a measurement set (a PlanDefinition such as the NDP) for one treatment:
 * `POST PlanDefinition/{id}/$apply?subject=Patient/{id}&carePlan=CarePlan/{id}`. The treatment's
 * start and end come from CarePlan.period; the answer is 200 with the RequestGroup that holds one
 * new Task per moment and instrument (domain/schedules/apply-measurement-set.ts).
 *
 * Where this differs from R4's definition, and why: R4 returns a CarePlan, but the treatment
 * already has its CarePlan (the `carePlan` parameter, which R4 lacks); its processing
 * description builds a RequestGroup of the actions, and that is what is returned here. The
 * RequestGroup and Tasks are stored, not transient, because they are the schedule that responses
 * complete and overdue searches find; the operation therefore changes state and takes POST only.
 */
import type { CarePlan, OperationDefinition, PlanDefinition, Task } from '@medplum/fhirtypes';
import { applyMeasurementSet } from '../domain/schedules/apply-measurement-set.js';
import { badRequest, issue, isOperationOutcomeError, unprocessable } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { parseLocalReference } from '../fhir/references.js';
import type { FhirContext } from '../interactions/context.js';
import type { Repository } from '../repository/repository.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'PlanDefinition-apply',
  url: 'http://schakel.nl/fhir/OperationDefinition/PlanDefinition-apply',
  base: 'http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply',
  name: 'Apply',
  title: 'Meetmomenten plannen voor een behandeling',
  status: 'active',
  kind: 'operation',
  description:
    'Applies a measurement set to one treatment: one Task per moment and instrument, due in the window the PlanDefinition gives around the CarePlan.period, held by a stored RequestGroup that is returned.',
  code: 'apply',
  resource: ['PlanDefinition'],
  system: false,
  type: false,
  instance: true,
  affectsState: true,
  parameter: [
    { name: 'subject', use: 'in', min: 1, max: '1', type: 'string', documentation: 'The patient: Patient/{id}' },
    { name: 'carePlan', use: 'in', min: 1, max: '1', type: 'string', documentation: 'The treatment: CarePlan/{id} with period start and planned end' },
    { name: 'practitioner', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Who schedules: Practitioner/{id} or PractitionerRole/{id}' },
    { name: 'organization', use: 'in', min: 0, max: '1', type: 'string', documentation: 'On whose behalf: Organization/{id}' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'RequestGroup' },
  ],
};

function localReference(request: FhirRequest, name: string, value: string, types: readonly string[]): { resourceType: string; id: string } {
  const ref = parseLocalReference(value, request.baseUrl);
  if (!ref || !types.includes(ref.resourceType) || ref.versionId !== undefined) {
    throw badRequest(`${name} must be a reference to a ${types.join(' or ')} on this server (${types[0]}/{id})`, name);
  }
  return ref;
}

/** Who schedules, as Task.requester: the practitioner (or role), else the organization. */
function requesterOf(request: FhirRequest, input: OperationInput): Task['requester'] {
  const practitioner = input.value('practitioner');
  if (practitioner !== undefined) {
    const ref = localReference(request, 'practitioner', practitioner, ['Practitioner', 'PractitionerRole']);
    return { reference: `${ref.resourceType}/${ref.id}` };
  }
  const organization = input.value('organization');
  if (organization !== undefined) {
    return { reference: `Organization/${localReference(request, 'organization', organization, ['Organization']).id}` };
  }
  return undefined;
}

/** A referenced resource that must exist: 422 naming the parameter otherwise. */
async function readParameterTarget<T>(repo: Repository, name: string, type: string, id: string): Promise<T> {
  try {
    return await repo.readResource(type, id) as T;
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      throw unprocessable([issue({ code: 'not-found', text: `${name}: ${type}/${id} does not exist`, expression: name })]);
    }
    throw error;
  }
}

async function apply(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  // subject and carePlan are required (min 1): operation-parameters.ts answered 400 without them.
  const subject = localReference(request, 'subject', input.value('subject') ?? '', ['Patient']);
  const carePlanRef = localReference(request, 'carePlan', input.value('carePlan') ?? '', ['CarePlan']);
  const requester = requesterOf(request, input);
  return ctx.repo.transaction(async (repo) => {
    const plan = await repo.readResource<PlanDefinition & { id: string }>('PlanDefinition', request.id as string);
    if (plan.status !== 'active') {
      throw unprocessable([issue({ code: 'business-rule', text: `PlanDefinition/${plan.id} is ${plan.status}, not active`, expression: 'PlanDefinition.status' })]);
    }
    await readParameterTarget(repo, 'subject', 'Patient', subject.id);
    const carePlan = await readParameterTarget<CarePlan & { id: string }>(repo, 'carePlan', 'CarePlan', carePlanRef.id);
    const group = await applyMeasurementSet(repo, ctx.search, {
      plan,
      patientId: subject.id,
      carePlan,
      requester,
      now: new Date().toISOString(),
    });
    return { status: 200, resource: group };
  });
}

export const applyOperation: OperationHandler = {
  name: 'apply',
  definition,
  resourceTypes: ['PlanDefinition'],
  levels: ['instance'],
  handle: apply,
};
