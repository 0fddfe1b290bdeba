/**
 * Stores the Observations SDC extraction gives a response (observation-extract.ts) in the
 * response's own write transaction, through the repository, so each gets the Provenance and
 * change event of any write. They are found again by their identifier: a later version of the
 * response updates them (`amended` when a final value changes) instead of adding more; one whose
 * answer is gone is `entered-in-error`; all follow the response to `entered-in-error`, or to
 * `cancelled` when it is no longer completed (derived-observations.ts, as the scores do).
 */
import { deepEquals } from '@medplum/core';
import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { EXTRACT_IDENTIFIER_SYSTEM } from '../canonical-urls.js';
import { findResources } from '../find-resources.js';
import { isCompleted } from './calculated-items.js';
import { observationContent, observationStatus } from './derived-observations.js';
import { extractObservations } from './observation-extract.js';
import type { ResolvedQuestionnaire } from './resolve-questionnaire.js';

/** More extracted Observations than one response can have (a generous bound on its answers). */
const MAX_EXTRACTED = 1000;

function keyOf(observation: Observation): string | undefined {
  return observation.identifier?.find((i) => i.system === EXTRACT_IDENTIFIER_SYSTEM)?.value;
}

/** The Observations extracted from earlier versions of the response, by key. */
async function previouslyExtracted(repo: Repository, search: SearchService, responseId: string): Promise<Map<string, Observation & { id: string }>> {
  const found = await findResources<Observation>(repo, search, 'Observation', [['derived-from', `QuestionnaireResponse/${responseId}`]], MAX_EXTRACTED);
  const byKey = new Map<string, Observation & { id: string }>();
  for (const observation of found) {
    const key = keyOf(observation);
    if (key !== undefined && observation.id) {
      byKey.set(key, observation as Observation & { id: string });
    }
  }
  return byKey;
}

/**
 * Creates or updates the extracted Observations of a response after it was written. `fresh`:
 * the response id was never used before, so it has none yet (saves a search per new response).
 */
export async function storeExtractedObservations(
  repo: Repository,
  search: SearchService,
  response: QuestionnaireResponse & { id: string },
  found: ResolvedQuestionnaire,
  options: { readonly issued: string; readonly fresh: boolean }
): Promise<void> {
  const completed = isCompleted(response);
  const wanted = completed ? extractObservations(response, found.questionnaire, found.canonical, options.issued) : [];
  if (wanted.length === 0 && options.fresh) {
    return;
  }
  const existing = options.fresh ? new Map<string, Observation & { id: string }>() : await previouslyExtracted(repo, search, response.id);
  for (const { key, observation } of wanted) {
    const before = existing.get(key);
    existing.delete(key);
    const changed = !before || !deepEquals(observationContent({ ...observation, id: before.id }), observationContent(before));
    observation.status = observationStatus(response, before, changed);
    if (!before) {
      await repo.create(observation);
    } else if (changed || observation.status !== before.status) {
      await repo.update({ ...observation, id: before.id });
    }
  }
  // What earlier versions extracted and this one does not: the answer was removed, or the
  // response is no longer completed.
  for (const stale of existing.values()) {
    const status: Observation['status'] = completed ? 'entered-in-error' : observationStatus(response, stale, false);
    if (stale.status !== status && stale.status !== 'entered-in-error') {
      await repo.update({ ...stale, status });
    }
  }
}
