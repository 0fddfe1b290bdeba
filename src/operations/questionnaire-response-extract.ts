// $extract: https://hl7.org/fhir/uv/sdc/OperationDefinition-QuestionnaireResponse-extract.html
/**
 * QuestionnaireResponse/{id}/$extract and QuestionnaireResponse/$extract (a `questionnaire-response`
 * parameter): the Observations the response gives, as a transaction Bundle that is answered, not
 * stored (SDC, https://hl7.org/fhir/uv/sdc/extraction.html). They are what completing the response
 * stores here: the SDC observation-based extraction (domain/questionnaires/observation-extract.ts)
 * and Schakel's scores (score-observations.ts), with the calculated answers filled in first
 * (calculated-items.ts). Each entry with an identifier is a conditional update on it, so posting the
 * Bundle twice, or after the server stored them on completion, changes what is there instead of
 * adding copies; an unsaved response without id gives plain creates.
 */
import type { Bundle, BundleEntry, Observation, OperationDefinition, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { searchValue } from '../domain/find-resources.js';
import { calculatedIssues, fillCalculatedItems } from '../domain/questionnaires/calculated-items.js';
import { extractObservations } from '../domain/questionnaires/observation-extract.js';
import { resolveQuestionnaire } from '../domain/questionnaires/resolve-questionnaire.js';
import { responseIssues } from '../domain/questionnaires/response-rules.js';
import { scoreObservation } from '../domain/questionnaires/score-observations.js';
import { scoreDefinitions } from '../domain/questionnaires/score-definitions.js';
import { newId } from '../fhir/ids.js';
import { badRequest, hasErrors, issue, unprocessable } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'QuestionnaireResponse-extract',
  url: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract',
  name: 'QuestionnaireResponseExtract',
  title: 'Extract Observations from a QuestionnaireResponse',
  status: 'active',
  kind: 'operation',
  code: 'extract',
  resource: ['QuestionnaireResponse'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [
    {
      name: 'questionnaire-response',
      use: 'in',
      min: 0,
      max: '1',
      type: 'QuestionnaireResponse',
      documentation: 'The response to extract from (type level, in a Parameters body); the instance level uses the stored one',
    },
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'Bundle',
      documentation: 'A transaction Bundle of the extracted Observations, not stored',
    },
  ],
};

const PARAMETER = 'questionnaire-response';

async function responseOf(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<QuestionnaireResponse> {
  if (request.id !== undefined) {
    if (input.resource(PARAMETER) !== undefined) {
      throw badRequest(`$extract on a QuestionnaireResponse takes no ${PARAMETER}: it extracts that response`, PARAMETER);
    }
    return ctx.repo.readResource<QuestionnaireResponse>('QuestionnaireResponse', request.id);
  }
  const given = input.resource(PARAMETER) as Resource | undefined;
  if (given === undefined) {
    throw badRequest(`$extract on the type needs the ${PARAMETER} parameter`, PARAMETER);
  }
  if (given.resourceType !== 'QuestionnaireResponse') {
    throw badRequest(`${PARAMETER} must be a QuestionnaireResponse, not a ${given.resourceType}`, PARAMETER);
  }
  ctx.validator.validate(given);
  return given;
}

/** A transaction entry for one Observation: a conditional update on its identifier, or a create. */
function entryOf(observation: Observation): BundleEntry {
  const identifier = observation.identifier?.[0];
  const url =
    identifier?.system && identifier.value
      ? `Observation?identifier=${encodeURIComponent(`${identifier.system}|${searchValue(identifier.value)}`)}`
      : undefined;
  return {
    fullUrl: `urn:uuid:${newId()}`,
    resource: observation,
    request: url ? { method: 'PUT', url } : { method: 'POST', url: 'Observation' },
  };
}

/** Without an id the response has no identity to refer to: no identifier, no derivedFrom. */
function unsaved(observation: Observation): Observation {
  const { identifier: _identifier, derivedFrom: _derivedFrom, ...rest } = observation;
  return rest;
}

async function extract(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const response = await responseOf(ctx, request, input);
  if (!response.questionnaire) {
    throw unprocessable([issue({ code: 'required', text: '$extract needs the response to name its Questionnaire', expression: 'QuestionnaireResponse.questionnaire' })]);
  }
  const found = await resolveQuestionnaire(ctx.repo, ctx.search, response.questionnaire);
  if (!found) {
    throw unprocessable([
      issue({ code: 'not-found', text: `Questionnaire ${response.questionnaire} is not known to this server`, expression: 'QuestionnaireResponse.questionnaire' }),
    ]);
  }
  // Extraction reads the response as completing it would store it, whatever its status now.
  const filled = fillCalculatedItems(response, found.questionnaire, { anyStatus: true });
  if (request.id === undefined) {
    const issues = [...responseIssues(filled, found.questionnaire), ...calculatedIssues(filled, found.questionnaire, { anyStatus: true })];
    if (hasErrors(issues)) {
      throw unprocessable(issues);
    }
  }
  const issued = new Date().toISOString();
  const stored = { ...filled, id: filled.id ?? '' };
  const scores = scoreDefinitions(found.questionnaire).map((score) => scoreObservation(stored, found, score, undefined, issued));
  const extracted = extractObservations(filled, found.questionnaire, found.canonical, issued).map((e) => e.observation);
  const observations = [...scores, ...extracted].map((o) => (filled.id ? o : unsaved(o)));
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id: newId(),
    type: 'transaction',
    entry: observations.map(entryOf),
  };
  return { status: 200, resource: bundle };
}

export const questionnaireResponseExtractOperation: OperationHandler = {
  name: 'extract',
  definition,
  resourceTypes: ['QuestionnaireResponse'],
  levels: ['type', 'instance'],
  handle: extract,
};
