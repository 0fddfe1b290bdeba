// $validate: https://hl7.org/fhir/R4/resource-operation-validate.html
import type { OperationDefinition, OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import { allOk, badRequest, hasErrors, isOperationOutcomeError, outcome } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { queryValue } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
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

function readInput(request: FhirRequest): { resource: unknown; mode: Mode | undefined } {
  let resource: unknown = request.body;
  let mode = queryValue(request.query, 'mode');
  if (resource !== undefined && (resource as Resource).resourceType === 'Parameters') {
    const params = resource as Parameters;
    resource = params.parameter?.find((p) => p.name === 'resource')?.resource;
    mode = params.parameter?.find((p) => p.name === 'mode')?.valueCode ?? mode;
  }
  if (mode !== undefined && mode !== 'create' && mode !== 'update' && mode !== 'delete') {
    throw badRequest(`mode must be create, update or delete, got "${mode}"`, 'mode');
  }
  return { resource, mode };
}

async function validate(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.resourceType as string;
  const { resource, mode } = readInput(request);
  if (mode === 'delete') {
    if (request.id === undefined) {
      throw badRequest('mode=delete needs an instance: POST [type]/[id]/$validate');
    }
    // A delete would be refused when others reference the resource; report that without deleting.
    try {
      await ctx.repo.transaction(async (repo) => {
        await repo.delete(type, request.id as string);
        throw new RollbackProbe();
      });
    } catch (error) {
      if (!(error instanceof RollbackProbe)) {
        if (isOperationOutcomeError(error)) {
          return { status: 200, resource: outcome('all-ok', error.outcome.issue ?? []) };
        }
        throw error;
      }
    }
    return { status: 200, resource: allOk('The resource could be deleted') };
  }
  let candidate = resource;
  if (candidate === undefined && request.id !== undefined) {
    candidate = await ctx.repo.readResource(type, request.id);
  }
  if (candidate === undefined) {
    throw badRequest('$validate needs a resource in the body');
  }
  ctx.validator.assertResource(candidate, type);
  const issues = ctx.validator.check(candidate).issues;
  if (mode === 'update' || (mode === undefined && request.id !== undefined && resource !== undefined)) {
    if (candidate.id === undefined) {
      issues.push({ severity: 'error', code: 'required', details: { text: 'An update needs the resource id' }, expression: [`${type}.id`] });
    } else if (request.id !== undefined && candidate.id !== request.id) {
      issues.push({ severity: 'error', code: 'invalid', details: { text: 'The resource id does not match the URL' }, expression: [`${type}.id`] });
    }
  }
  const result: OperationOutcome = hasErrors(issues) || issues.length > 0 ? outcome('all-ok', issues) : allOk('Validation passed');
  return { status: 200, resource: result };
}

class RollbackProbe extends Error {}

export const validateOperation: OperationHandler = {
  name: 'validate',
  definition,
  levels: ['type', 'instance'],
  handle: validate,
};
