/**
 * Domain rules read other resources through the search service, never around it, so that the
 * access narrowing security adds to SearchInput (docs/security.md) applies to them too. These helpers read
 * every page of a search, or turn a Bundle's links into another endpoint's links.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Prefer, QueryParams } from '../fhir/request.js';
import type { Queryable } from '../storage/database.js';
import type { AccessFilter, SearchService } from '../search/types.js';

export interface DomainSearch {
  readonly search: SearchService;
  readonly db: Queryable;
  readonly baseUrl: string;
  readonly access?: AccessFilter;
}

/** Pages a domain rule reads at most; a care plan with more visits than this is not realistic. */
const MAX_PAGES = 50;
const PAGE_SIZE = '1000';

/** The `_cursor` of a Bundle's next link, if any. */
export function nextCursor(bundle: Bundle): string | undefined {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  return next === undefined ? undefined : (new URL(next).searchParams.get('_cursor') ?? undefined);
}

/** Every match of a search over `types`, following next links. */
export async function searchAll<T extends Resource = Resource>(ctx: DomainSearch, types: readonly string[], query: QueryParams): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const bundle = await ctx.search.search(ctx.db, {
      resourceTypes: types,
      query: [...query, ['_count', PAGE_SIZE], ...(cursor === undefined ? [] : [['_cursor', cursor] as const])],
      prefer: {} satisfies Prefer,
      baseUrl: ctx.baseUrl,
      linkPath: '',
      ...(ctx.access ? { access: ctx.access } : {}),
    });
    found.push(...(bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as T));
    cursor = nextCursor(bundle);
    if (cursor === undefined) {
      return found;
    }
  }
  return found;
}
