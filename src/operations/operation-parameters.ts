/**
 * Operation input parameters (https://hl7.org/fhir/R4/operations.html#request): in the URL
 * query, or in a Parameters body when the operation is POSTed, read by one rule for every
 * operation: a primitive value as text, a Reference as its `reference`. Two readings of one request:
 * `operationParameters` lists every name/value pair in order (for search-like inputs that repeat),
 * `operationParameter` gives the one value of a name. ($validate reads its body itself: there the
 * resource is the input.)
 */
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, QueryParams } from '../fhir/request.js';
import { queryValue } from '../fhir/request.js';

/** A parameter's primitive value as text, or a Reference value's `reference`; undefined for any other value. */
function parameterValue(parameter: ParametersParameter): string | undefined {
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

/**
 * The Parameters body's parameters in order. One that carries anything else (a resource, parts, a
 * complex type) is 400 naming it: these operations read their inputs as text, and answering as if
 * it had not been sent would hide from the caller that it was ignored.
 */
function bodyParameters(request: FhirRequest): QueryParams {
  const body = request.body as Parameters | undefined;
  if (body === undefined) {
    return [];
  }
  if (body.resourceType !== 'Parameters') {
    throw badRequest(`$${request.operation ?? ''} takes a Parameters body`);
  }
  return (body.parameter ?? []).map((parameter) => {
    const value = parameterValue(parameter);
    if (value === undefined) {
      throw badRequest(`Parameter ${parameter.name} needs a primitive or Reference value`, parameter.name);
    }
    return [parameter.name, value] as const;
  });
}

/** Every input parameter in order, the query's first (for inputs that repeat, such as search parameters). */
export function operationParameters(request: FhirRequest): QueryParams {
  return [...request.query, ...bodyParameters(request)];
}

/** A parameter's value from the Parameters body, else from the query; undefined when absent. */
export function operationParameter(request: FhirRequest, name: string): string | undefined {
  return queryValue(bodyParameters(request), name) ?? queryValue(request.query, name);
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

/**
 * A parameter whose value is a resource (`Parameters.parameter.resource`): only a Parameters body
 * can carry one. Undefined when absent; 400 when the parameter is there without a resource.
 */
export function resourceParameter(request: FhirRequest, name: string): Resource | undefined {
  assertParametersBody(request);
  const parameter = (request.body as Parameters | undefined)?.parameter?.find((p) => p.name === name);
  if (parameter === undefined) {
    return undefined;
  }
  if (parameter.resource === undefined) {
    throw badRequest(`Parameter ${name} needs a resource`, name);
  }
  return parameter.resource;
}
