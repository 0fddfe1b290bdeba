// $logbook on a Patient: GET [base]/Patient/{id}/$logbook (issue 5)
/**
 * The joint logbook of a patient across all plans and referrals: every Observation, Communication,
 * Procedure and Encounter about the patient, newest first, with the filters and paging of
 * domain/logbook/logbook-search.ts.
 */
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { searchLogbook } from '../domain/logbook/logbook-search.js';
import type { DomainSearch } from '../domain/search-pages.js';
import { logbookDefinition } from './logbook-definition.js';
import { operationParameters } from './operation-input.js';
import type { OperationHandler } from './registry.js';

async function patientLogbook(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const id = request.id as string;
  const parameters = operationParameters(request);
  const domain: DomainSearch = { search: ctx.search, db: ctx.repo.queryable, baseUrl: request.baseUrl };
  // Narrowed like a read: 404 outside the care relationship, 410 when deleted.
  await ctx.repo.read('Patient', id);
  const linkPath = `Patient/${id}/$logbook`;
  const bundle = await searchLogbook(domain, { scope: [['patient', `Patient/${id}`]], parameters, prefer: request.prefer, linkPath });
  return { status: 200, resource: bundle };
}

export const patientLogbookOperation: OperationHandler = {
  name: 'logbook',
  definition: logbookDefinition(
    'Patient',
    "The joint logbook of a patient: every Observation, Communication, Procedure and Encounter about the patient, from all care teams, newest first, with date, category and author-discipline filters and paging."
  ),
  resourceTypes: ['Patient'],
  levels: ['instance'],
  handle: patientLogbook,
};
