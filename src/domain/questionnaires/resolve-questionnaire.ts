/**
 * Finds the Questionnaire a canonical reference names (https://hl7.org/fhir/R4/references.html#canonical):
 * `url|version` names one version; a bare `url` names the current one, which here is the active
 * version last written (or, when none is active, the one last written).
 */
import type { Questionnaire } from '@medplum/fhirtypes';
import { splitCanonical } from '../../fhir/references.js';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { findResources, searchValue } from '../find-resources.js';

export interface ResolvedQuestionnaire {
  readonly questionnaire: Questionnaire & { id: string };
  /** `url|version` of the resolved Questionnaire (just `url` when it has no version). */
  readonly canonical: string;
}

export function canonicalOf(resource: { url?: string; version?: string }): string {
  return resource.version === undefined ? (resource.url ?? '') : `${resource.url ?? ''}|${resource.version}`;
}

export async function resolveQuestionnaire(
  repo: Repository,
  search: SearchService,
  canonical: string
): Promise<ResolvedQuestionnaire | undefined> {
  const { url, version } = splitCanonical(canonical);
  const criteria: Array<[string, string]> = [['url', searchValue(url)]];
  if (version !== undefined) {
    criteria.push(['version', searchValue(version)]);
  }
  const found = await findResources<Questionnaire>(repo, search, 'Questionnaire', [...criteria, ['_sort', '-_lastUpdated']], 20);
  const candidates = found.filter((q) => q.url === url && (version === undefined || q.version === version));
  const chosen = candidates.find((q) => q.status === 'active') ?? candidates[0];
  if (!chosen?.id) {
    return undefined;
  }
  return { questionnaire: chosen as Questionnaire & { id: string }, canonical: canonicalOf(chosen) };
}
