/**
 * What CarePlan/$logbook (careplan-logbook.ts) and Patient/$logbook (patient-logbook.ts) share.
 * The joint logbook (docs/care-workflows.md, section 2): the entries every member of the care team wrote,
 * newest first, with the filters and paging of domain/logbook/logbook-search.ts. Both operations
 * differ only in the scope they search: a plan's entries are based on the plan or on the
 * ServiceRequest of one of its activities (a referral listed as an activity brings its feedback
 * and visits along) and are about the plan's patient; a patient's entries are everything about
 * the patient, across plans and referrals.
 */
import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { searchLogbook } from '../domain/logbook/logbook-search.js';
import type { DomainSearch } from '../domain/search-pages.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const PARAMETERS: OperationDefinitionParameter[] = [
  {
    name: 'date',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'date',
    documentation: 'When the entry happened (Observation.effective, Communication.sent, Procedure.performed, Encounter.period), with search prefixes: date=ge2026-09-01',
  },
  {
    name: 'category',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'token',
    documentation: 'Category of the entry (Encounter: class and type), e.g. category=vital-signs',
  },
  {
    name: 'author-discipline',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'token',
    documentation: 'Discipline of the PractitionerRole that wrote the entry (PractitionerRole.code or .specialty), e.g. author-discipline=urn:oid:2.16.840.1.113883.2.4.15.111|04.000',
  },
  { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Entries per page; next links page on' },
  { name: '_cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The page a next or previous link points at (as the server hands it out)' },
  { name: '_total', use: 'in', min: 0, max: '1', type: 'code', documentation: 'none, estimate or accurate (https://hl7.org/fhir/R4/search.html#total)' },
  { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A searchset Bundle of the entries, newest first' },
];

type LogbookOwner = 'CarePlan' | 'Patient';

/**
 * The search scope of the logbook of one resource. The owner is read through the narrowed
 * repository, so a plan or patient outside the care relationship answers 404 and a deleted one 410.
 */
export type LogbookScope = (ctx: FhirContext, id: string, baseUrl: string) => Promise<QueryParams>;

function logbookDefinition(resourceType: LogbookOwner, description: string): OperationDefinition {
  return {
    resourceType: 'OperationDefinition',
    id: `${resourceType}-logbook`,
    url: `http://schakel.nl/fhir/OperationDefinition/${resourceType}-logbook`,
    name: `${resourceType}Logbook`,
    title: `Joint logbook of a ${resourceType === 'CarePlan' ? 'care plan' : 'patient'}`,
    status: 'active',
    kind: 'operation',
    description,
    code: 'logbook',
    resource: [resourceType],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: PARAMETERS,
  };
}

/** The $logbook operation on `resourceType`, searching the entries in `scope`. */
export function logbookOperation(resourceType: LogbookOwner, description: string, scope: LogbookScope): OperationHandler {
  return {
    name: 'logbook',
    definition: logbookDefinition(resourceType, description),
    resourceTypes: [resourceType],
    levels: ['instance'],
    handle: async (ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> => {
      const id = request.id as string;
      const parameters = input.pairs;
      const scopeParams = await scope(ctx, id, request.baseUrl);
      const domain: DomainSearch = { search: ctx.search, db: ctx.repo.queryable, baseUrl: request.baseUrl };
      const linkPath = `${resourceType}/${id}/$logbook`;
      const bundle = await searchLogbook(domain, { scope: scopeParams, parameters, prefer: request.prefer, linkPath });
      return { status: 200, resource: bundle };
    },
  };
}
