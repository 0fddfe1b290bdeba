// operations: https://hl7.org/fhir/R4/operations.html
import { methodNotAllowed, notFound } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { operationInput } from '../operations/operation-parameters.js';
import type { OperationLevel } from '../operations/registry.js';
import type { FhirContext } from './context.js';

export async function operation(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const level: OperationLevel =
    request.id !== undefined ? 'instance' : request.resourceType !== undefined ? 'type' : 'system';
  const name = request.operation as string;
  const handler = ctx.operations.find(name, level, request.resourceType);
  if (!handler) {
    throw notFound(`Operation $${name} is not supported at ${level} level${request.resourceType ? ` on ${request.resourceType}` : ''}`);
  }
  // Operations that change state may not be invoked with GET (https://hl7.org/fhir/R4/operations.html#executing).
  if (request.method !== 'POST' && handler.definition.affectsState === true) {
    throw methodNotAllowed(`$${name} changes data and must be invoked with POST`);
  }
  // The OperationDefinition is the one source of the parameters (operation-parameters.ts).
  return handler.handle(ctx, request, operationInput(request, handler.definition));
}
