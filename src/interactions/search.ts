// search: https://hl7.org/fhir/R4/http.html#search (type, system and compartment level)
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from './context.js';
import { withinSearchBudget } from './search-budget.js';

export async function searchType(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.resourceType as string;
  const bundle = await withinSearchBudget(ctx, (db) => ctx.search.search(db, {
    resourceTypes: [type],
    query: request.query,
    prefer: request.prefer,
    baseUrl: request.baseUrl,
    linkPath: type,
  }));
  return { status: 200, resource: bundle };
}

export async function searchSystem(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const bundle = await withinSearchBudget(ctx, (db) => ctx.search.search(db, {
    resourceTypes: undefined,
    query: request.query,
    prefer: request.prefer,
    baseUrl: request.baseUrl,
    linkPath: '',
  }));
  return { status: 200, resource: bundle };
}

/** `GET [base]/Patient/{id}/{type}`: https://hl7.org/fhir/R4/compartmentdefinition.html */
export async function searchCompartment(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const compartment = { resourceType: request.resourceType as string, id: request.id as string };
  const type = request.compartmentType as string;
  const bundle = await withinSearchBudget(ctx, (db) => ctx.search.search(db, {
    resourceTypes: [type],
    compartment,
    query: request.query,
    prefer: request.prefer,
    baseUrl: request.baseUrl,
    linkPath: `${compartment.resourceType}/${compartment.id}/${type}`,
  }));
  return { status: 200, resource: bundle };
}
