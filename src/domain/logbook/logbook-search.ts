/**
 * The joint logbook (docs/care-workflows.md, section 2) as one search over the search service, so that
 * it is index-backed and security's access narrowing (SearchInput.access) applies to it
 * like to any search. A LogbookEntry is an Observation, a Communication (feedback), a Procedure
 * (a visit) or an Encounter, newest first by its logbook `date` (Observation.effective,
 * Communication.sent, Procedure.performed, Encounter.period).
 *
 * The logbook's parameters, translated to criteria every entry type shares:
 * - `date` (date, with prefixes): `date`;
 * - `category` (token): `category` (Observation, Communication, Procedure category; Encounter class
 *   and type);
 * - `author-discipline` (token): the discipline of the PractitionerRole that wrote the entry
 *   (performer, sender, participant), PractitionerRole.code or .specialty. Its meaning is the chain
 *   `author:PractitionerRole.discipline`, but it is answered in two steps: the roles with that
 *   discipline first (`PractitionerRole?discipline=`), then `author=` those roles. With the chain
 *   inside the query the planner cannot know how many entries a role wrote (a join value has no
 *   statistics) and drove the query from every entry of the discipline instead of from the
 *   patient: 700 ms instead of 3 ms on 100,000 resources (npm run bench). Entries written by a
 *   Practitioner or Organization without a role have no discipline and never match;
 * - `_count`, `_cursor` (paging), `_total`.
 * The custom parameters behind this are in search/custom-parameters.ts.
 */
import type { Bundle, PractitionerRole } from '@medplum/fhirtypes';
import { badRequest } from '../../fhir/outcomes.js';
import type { Prefer, QueryParams } from '../../fhir/request.js';
import { searchAll, type DomainSearch } from '../search-pages.js';

export const LOGBOOK_TYPES: readonly string[] = ['Observation', 'Communication', 'Procedure', 'Encounter'];

const PASSED = new Set(['date', 'category', '_count', '_cursor', '_total']);

/** `author` criterion values for the roles with one of the disciplines in `value` (comma: either). */
async function authorsWithDiscipline(ctx: DomainSearch, value: string): Promise<string | undefined> {
  const roles = await searchAll<PractitionerRole>(ctx, ['PractitionerRole'], [['discipline', value]]);
  return roles.length === 0 ? undefined : roles.map((role) => `PractitionerRole/${role.id as string}`).join(',');
}

/**
 * The search query for a logbook: the caller's filters translated, the scope's criteria, newest
 * first; undefined when no entry can match (no role has the asked discipline).
 */
export async function logbookQuery(ctx: DomainSearch, scope: QueryParams, parameters: QueryParams): Promise<QueryParams | undefined> {
  const query: Array<readonly [string, string]> = [];
  for (const [name, value] of parameters) {
    if (name === 'author-discipline') {
      if (value === '') {
        continue;
      }
      const authors = await authorsWithDiscipline(ctx, value);
      if (authors === undefined) {
        return undefined;
      }
      query.push(['author', authors]);
    } else if (PASSED.has(name)) {
      query.push([name, value]);
    } else {
      throw badRequest(`$logbook has no parameter "${name}" (date, category, author-discipline, _count)`, name);
    }
  }
  return [...scope, ...query, ['_sort', '-date']];
}

/** The answer when nothing can match: an empty searchset with its self and first links. */
export function emptyLogbook(operationUrl: string, parameters: QueryParams): Bundle {
  const self = { resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: operationUrl }, { relation: 'first', url: operationUrl }] } satisfies Bundle;
  return logbookBundle(self, operationUrl, parameters);
}

/**
 * The search's Bundle with links that point back at the operation: `self`, `first`, `next` and
 * `previous` repeat the caller's own parameters and carry the page cursor, so following a next
 * link runs the same logbook again from where the page ended.
 */
export function logbookBundle(bundle: Bundle, operationUrl: string, parameters: QueryParams): Bundle {
  const own = parameters.filter(([name]) => name !== '_cursor');
  const link = (bundle.link ?? []).map((l) => {
    const cursor = new URL(l.url).searchParams.get('_cursor');
    const params = new URLSearchParams(own.map(([k, v]) => [k, v] as [string, string]));
    if (cursor !== null) {
      params.append('_cursor', cursor);
    }
    const query = params.toString();
    return { ...l, url: query === '' ? operationUrl : `${operationUrl}?${query}` };
  });
  return { ...bundle, link };
}

/**
 * Runs a logbook: `scope` holds the criteria that make it this plan's or this patient's, `linkPath`
 * is the operation's path below the base (`CarePlan/{id}/$logbook`), where the Bundle's links go.
 */
export async function searchLogbook(
  ctx: DomainSearch,
  request: { readonly scope: QueryParams; readonly parameters: QueryParams; readonly prefer: Prefer; readonly linkPath: string }
): Promise<Bundle> {
  const operationUrl = `${ctx.baseUrl}/${request.linkPath}`;
  const query = await logbookQuery(ctx, request.scope, request.parameters);
  if (query === undefined) {
    return emptyLogbook(operationUrl, request.parameters);
  }
  const bundle = await ctx.search.search(ctx.db, {
    resourceTypes: LOGBOOK_TYPES,
    query,
    prefer: request.prefer,
    baseUrl: ctx.baseUrl,
    linkPath: request.linkPath,
    ...(ctx.access ? { access: ctx.access } : {}),
  });
  return logbookBundle(bundle, operationUrl, request.parameters);
}
