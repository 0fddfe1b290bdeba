/**
 * Operation input parameters (https://hl7.org/fhir/R4/operations.html#executing): in the URL
 * query, or in a Parameters body when the operation is POSTed. Both give primitive values here;
 * a Reference parameter value gives its `reference`.
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest } from '../fhir/request.js';
import { queryValue } from '../fhir/request.js';

function primitive(parameter: ParametersParameter): string | undefined {
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

/** A parameter's value from the Parameters body, else from the query; undefined when absent. */
export function operationParameter(request: FhirRequest, name: string): string | undefined {
  const body = request.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') {
    const found = body.parameter?.find((p) => p.name === name);
    if (found) {
      return primitive(found);
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
