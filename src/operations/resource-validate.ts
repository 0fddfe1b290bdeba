// $validate: https://hl7.org/fhir/R4/resource-operation-validate.html
/**
 * Runs the write-time content validation without writing. The answer is 200 with an
 * OperationOutcome whether or not the resource is valid; 4xx means validation could not run.
 */
import type { OperationDefinition, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { allOk, badRequest, isOperationOutcomeError, issue, notSupported, outcome } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-validate',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  name: 'Validate',
  status: 'active',
  kind: 'operation',
  code: 'validate',
  resource: ['Resource'] as unknown as OperationDefinition['resource'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'resource', use: 'in', min: 0, max: '1', type: 'Resource' },
    { name: 'mode', use: 'in', min: 0, max: '1', type: 'code' },
    { name: 'profile', use: 'in', min: 0, max: '1', type: 'uri' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'OperationOutcome' },
  ],
};

type Mode = 'create' | 'update' | 'delete';

interface ValidateInput {
  readonly resource: unknown;
  readonly mode: Mode | undefined;
  readonly profile: string | undefined;
}

/**
 * The body is the resource itself, or a Parameters with `resource`, `mode` and `profile`
 * (https://hl7.org/fhir/R4/resource-operation-validate.html); query parameters give mode and
 * profile too. A Parameters posted to Parameters/$validate is the resource unless it has a
 * `resource` parameter.
 */
function readInput(request: FhirRequest, input: OperationInput): ValidateInput {
  let resource: unknown = request.body;
  let mode = input.value('mode');
  let profile = input.value('profile');
  const params = resource as Parameters | undefined;
  const wrapped = params?.resourceType === 'Parameters' && (request.resourceType !== 'Parameters' || params.parameter?.some((p) => p.name === 'resource'));
  if (wrapped) {
    resource = params.parameter?.find((p) => p.name === 'resource')?.resource;
    mode = params.parameter?.find((p) => p.name === 'mode')?.valueCode ?? mode;
    const named = params.parameter?.find((p) => p.name === 'profile');
    profile = named?.valueUri ?? named?.valueCanonical ?? profile;
  }
  if (mode !== undefined && mode !== 'create' && mode !== 'update' && mode !== 'delete') {
    throw badRequest(`mode must be create, update or delete, got "${mode}"`, 'mode');
  }
  return { resource, mode, profile };
}

/** A delete would be refused when others reference the resource: try it and roll back. */
async function validateDelete(ctx: FhirContext, type: string, id: string): Promise<FhirResponse> {
  try {
    await ctx.repo.transaction(async (repo) => {
      await repo.delete(type, id);
      throw new RollbackProbe();
    });
  } catch (error) {
    if (!(error instanceof RollbackProbe)) {
      if (isOperationOutcomeError(error)) {
        const issues = (error.outcome.issue ?? []).map((i) => ({ ...i, severity: 'error' as const }));
        return { status: 200, resource: outcome('all-ok', issues) };
      }
      throw error;
    }
  }
  return { status: 200, resource: allOk('The resource could be deleted') };
}

/** The `profile` to validate against: a loaded profile, or the base definition of the type. */
function requestedProfiles(ctx: FhirContext, type: string, profile: string | undefined): string[] {
  if (profile === undefined || profile === `http://hl7.org/fhir/StructureDefinition/${type}`) {
    return [];
  }
  if (!ctx.validator.profiles.get(profile)) {
    throw notSupported(`Profile ${profile} is not known to this server`, 'profile');
  }
  return [profile];
}

async function validate(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const type = request.resourceType as string;
  const { resource, mode, profile } = readInput(request, input);
  if (mode === 'delete') {
    if (request.id === undefined) {
      throw badRequest('mode=delete needs an instance: POST [type]/[id]/$validate');
    }
    return validateDelete(ctx, type, request.id);
  }
  const profiles = requestedProfiles(ctx, type, profile);
  let candidate = resource;
  if (candidate === undefined && request.id !== undefined) {
    // GET [type]/[id]/$validate: the stored current version.
    candidate = await ctx.repo.readResource(type, request.id);
  }
  if (candidate === undefined) {
    throw badRequest('$validate needs a resource in the body');
  }
  ctx.validator.assertResource(candidate, type);
  const issues = ctx.validator.check(candidate, { profiles }).issues;
  if (mode === 'update' || (mode === undefined && request.id !== undefined && resource !== undefined)) {
    if (candidate.id === undefined) {
      issues.push(issue({ code: 'required', text: 'An update needs the resource id', expression: `${type}.id` }));
    } else if (request.id !== undefined && candidate.id !== request.id) {
      issues.push(issue({ code: 'invalid', text: 'The resource id does not match the URL', expression: `${type}.id` }));
    }
  }
  const result: OperationOutcome = issues.length > 0 ? outcome('all-ok', issues) : allOk('Validation passed');
  return { status: 200, resource: result };
}

class RollbackProbe extends Error {}

export const validateOperation: OperationHandler = {
  name: 'validate',
  definition,
  levels: ['type', 'instance'],
  handle: validate,
};
