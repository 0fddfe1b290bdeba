/**
 * Domain rules read what they need through the search service, in the write's transaction: the
 * same index tables and SQL as a client's search, so the access narrowing (docs/security.md) can apply
 * here too, and nothing reads resource JSON row by row to find a match.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { QueryParams } from '../fhir/request.js';
import type { Repository } from '../repository/repository.js';
import type { SearchService } from '../search/types.js';

/** Escapes a search value so that `,`, `|`, `$` and `\` in it are taken literally (search.html#escaping). */
export function searchValue(value: string): string {
  return value.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

/**
 * Current resources of one type matching the criteria (at most `count`). Creates of a transaction
 * Bundle still waiting to be written in bulk are flushed first, so that a rule sees every entry
 * before its own (transaction entries are processed in order).
 */
export async function findResources<T extends Resource>(
  repo: Repository,
  search: SearchService,
  resourceType: T['resourceType'],
  criteria: QueryParams,
  count = 100
): Promise<T[]> {
  await repo.flushWrites();
  const bundle = await search.search(repo.queryable, {
    resourceTypes: [resourceType],
    query: [...criteria, ['_count', String(count)]],
    prefer: {},
    baseUrl: '',
    linkPath: resourceType,
  });
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as T);
}
