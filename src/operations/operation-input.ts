/**
 * The input parameters of an operation invoked with GET (query parameters) or POST (a Parameters
 * body, https://hl7.org/fhir/R4/operations.html#request), as name/value pairs in order. Primitive
 * values only: the operations that use this take search-like inputs.
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, QueryParams } from '../fhir/request.js';

function primitive(parameter: ParametersParameter): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (key.startsWith('value') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      return String(value);
    }
  }
  return undefined;
}

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
