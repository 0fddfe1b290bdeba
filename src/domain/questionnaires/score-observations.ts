/**
 * Scores as Observations (https://hl7.org/fhir/R4/observation.html, category `survey`): one per
 * score of a completed response, derivedFrom the response, with its subject, the response's
 * authored date as effective date, the score's code, and the Questionnaire url|version in the
 * `observation-questionnaire` extension, so that a series never mixes versions. A score that
 * cannot be computed is stored as well, with a dataAbsentReason saying why.
 *
 * The Observation is identified by `{response id}#{score code}` (SCORE_IDENTIFIER_SYSTEM), so a
 * later write of the response updates it instead of adding another: `amended` when the value
 * changes after being final, `entered-in-error` when the response is, `cancelled` when the
 * response is no longer completed.
 */
import { deepEquals } from '@medplum/core';
import type { Observation, QuestionnaireResponse, Reference } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { DATA_ABSENT_REASON, OBSERVATION_CATEGORY, SCORE_IDENTIFIER_SYSTEM, SCORE_QUESTIONNAIRE_EXTENSION, UCUM } from '../canonical-urls.js';
import { findResources, searchValue } from '../find-resources.js';
import { computeScore, type ScoreResult } from './compute-score.js';
import { observationContent, observationStatus } from './derived-observations.js';
import type { ResolvedQuestionnaire } from './resolve-questionnaire.js';
import { scoreDefinitions, type ScoreDefinition } from './score-definitions.js';

type StoredResponse = QuestionnaireResponse & { id: string };

/** Observation.performer allows these of QuestionnaireResponse.author's types (not Device). */
const PERFORMER_TYPES = /^(Practitioner|PractitionerRole|Organization|Patient|RelatedPerson)\//;

function valueOf(result: ScoreResult): Pick<Observation, 'valueQuantity' | 'dataAbsentReason'> {
  switch (result.kind) {
    case 'value':
      return { valueQuantity: { value: result.value, unit: 'score', system: UCUM, code: '{score}' } };
    case 'missing':
      return {
        dataAbsentReason: {
          coding: [{ system: DATA_ABSENT_REASON, code: 'unknown', display: 'Unknown' }],
          text: `Geen score: niet beantwoord: ${result.missing.join(', ')}`,
        },
      };
    case 'error':
      return {
        dataAbsentReason: {
          coding: [{ system: DATA_ABSENT_REASON, code: 'error', display: 'Error' }],
          text: `Geen score: ${result.reason}`,
        },
      };
  }
}

export function scoreObservation(
  response: StoredResponse,
  found: ResolvedQuestionnaire,
  definition: ScoreDefinition,
  id: string | undefined,
  issued: string
): Observation {
  const author: Reference | undefined = response.author;
  return {
    resourceType: 'Observation',
    ...(id ? { id } : {}),
    extension: [{ url: SCORE_QUESTIONNAIRE_EXTENSION, valueCanonical: found.canonical }],
    identifier: [{ system: SCORE_IDENTIFIER_SYSTEM, value: `${response.id}#${definition.code.code}` }],
    status: 'final',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'survey', display: 'Survey' }] }],
    code: { coding: [definition.code], ...(definition.code.display ? { text: definition.code.display } : {}) },
    ...(response.subject ? { subject: response.subject as Observation['subject'] } : {}),
    ...(response.encounter ? { encounter: response.encounter } : {}),
    ...(response.authored ? { effectiveDateTime: response.authored } : {}),
    issued,
    ...(author?.reference && PERFORMER_TYPES.test(author.reference) ? { performer: [author as NonNullable<Observation['performer']>[number]] } : {}),
    ...valueOf(computeScore(definition, response, found.questionnaire)),
    derivedFrom: [{ reference: `QuestionnaireResponse/${response.id}` }],
  };
}

/**
 * Creates or updates the score Observations of a response after it was written. A response that
 * is not completed and never was gets none. `fresh`: the response id was never used before, so it
 * has no Observations yet (saves a search per new response).
 */
export async function storeScores(
  repo: Repository,
  search: SearchService,
  response: StoredResponse,
  found: ResolvedQuestionnaire,
  options: { readonly issued: string; readonly fresh: boolean }
): Promise<void> {
  const completed = response.status === 'completed' || response.status === 'amended';
  for (const definition of scoreDefinitions(found.questionnaire)) {
    const identifier = `${SCORE_IDENTIFIER_SYSTEM}|${searchValue(`${response.id}#${definition.code.code}`)}`;
    const [existing] = options.fresh ? [] : await findResources<Observation>(repo, search, 'Observation', [['identifier', identifier]], 1);
    if (!existing && !completed) {
      continue;
    }
    const observation = scoreObservation(response, found, definition, existing?.id, options.issued);
    const changed = !existing || !deepEquals(observationContent(observation), observationContent(existing));
    observation.status = observationStatus(response, existing, changed);
    if (!existing?.id) {
      await repo.create(observation);
    } else if (changed || observation.status !== existing.status) {
      await repo.update({ ...observation, id: existing.id });
    }
  }
}
