/**
 * Operation input parameters (https://hl7.org/fhir/R4/operations.html#request): in the URL
 * query, or in a Parameters body when the operation is POSTed. Two readings of one request:
 * `operationParameters` lists every name/value pair in order (for search-like inputs that repeat),
 * `operationParameter` gives the one value of a name. ($validate reads its body itself: there the
 * resource is the input.)
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, QueryParams } from '../fhir/request.js';
import { queryValue } from '../fhir/request.js';

/** A parameter's primitive value as text; undefined for any other value. */
function primitive(parameter: ParametersParameter): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (key.startsWith('value') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      return String(value);
    }
  }
  return undefined;
}

/** A parameter's primitive value as text, or a Reference value's `reference`; undefined for any other value. */
function primitiveOrReference(parameter: ParametersParameter): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (!key.startsWith('value')) {
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    if (key === 'valueReference') {
      return (value as { reference?: string }).reference;
    }
  }
  return undefined;
}

/** Every input parameter in order, the query's first: 400 for a body that is not Parameters or a parameter without a primitive value. */
export function operationParameters(request: FhirRequest): QueryParams {
  const params: Array<readonly [string, string]> = [...request.query];
  const body = request.body as Parameters | undefined;
  if (body === undefined) {
    return params;
  }
  if (body.resourceType !== 'Parameters') {
    throw badRequest('The body of this operation is a Parameters resource');
  }
  for (const parameter of body.parameter ?? []) {
    const value = primitive(parameter);
    if (value === undefined) {
      throw badRequest(`Parameter ${parameter.name} needs a primitive value`, parameter.name);
    }
    params.push([parameter.name, value]);
  }
  return params;
}

/** A parameter's value from the Parameters body, else from the query; undefined when absent. */
export function operationParameter(request: FhirRequest, name: string): string | undefined {
  const body = request.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') {
    const found = body.parameter?.find((p) => p.name === name);
    if (found) {
      return primitiveOrReference(found);
    }
  }
  return queryValue(request.query, name);
}

/** A parameter that must be given: 400 naming it otherwise. */
export function requiredParameter(request: FhirRequest, name: string): string {
  const value = operationParameter(request, name);
  if (value === undefined || value === '') {
    throw badRequest(`$${request.operation ?? ''} needs the ${name} parameter`, name);
  }
  return value;
}

/** The body must be absent or a Parameters resource. */
export function assertParametersBody(request: FhirRequest): void {
  const body = request.body as { resourceType?: string } | undefined;
  if (body !== undefined && body.resourceType !== 'Parameters') {
    throw badRequest(`$${request.operation ?? ''} takes a Parameters body`);
  }
}
