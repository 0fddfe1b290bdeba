/**
 * The joint logbook (DOMAIN.md, flow 2; issue 5) as one search over the search service, so that
 * it is index-backed and security's access narrowing (SearchInput.access, issue 7) applies to it
 * like to any search. A LogbookEntry is an Observation, a Communication (feedback), a Procedure
 * (a visit) or an Encounter, newest first by its logbook `date` (Observation.effective,
 * Communication.sent, Procedure.performed, Encounter.period).
 *
 * The logbook's parameters, translated to criteria every entry type shares:
 * - `date` (date, with prefixes): `date`;
 * - `category` (token): `category` (Observation, Communication, Procedure category; Encounter class
 *   and type);
 * - `author-discipline` (token): the discipline of the PractitionerRole that wrote the entry
 *   (performer, sender, participant), PractitionerRole.code or .specialty: the chain
 *   `author:PractitionerRole.discipline`. Entries written by a Practitioner or Organization without
 *   a role have no discipline and never match;
 * - `_count`, `_cursor` (paging), `_total`.
 * The custom parameters behind this are in search/custom-parameters.ts.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { badRequest } from '../../fhir/outcomes.js';
import type { QueryParams } from '../../fhir/request.js';

export const LOGBOOK_TYPES: readonly string[] = ['Observation', 'Communication', 'Procedure', 'Encounter'];

const TRANSLATED: Readonly<Record<string, string>> = {
  date: 'date',
  category: 'category',
  'author-discipline': 'author:PractitionerRole.discipline',
};
const PASSED = new Set(['_count', '_cursor', '_total']);

/** The search query for a logbook: the caller's filters translated, the scope's criteria, newest first. */
export function logbookQuery(scope: QueryParams, parameters: QueryParams): QueryParams {
  const query: Array<readonly [string, string]> = [];
  for (const [name, value] of parameters) {
    const translated = TRANSLATED[name];
    if (translated !== undefined) {
      query.push([translated, value]);
    } else if (PASSED.has(name)) {
      query.push([name, value]);
    } else {
      throw badRequest(`$logbook has no parameter "${name}" (date, category, author-discipline, _count)`, name);
    }
  }
  return [...scope, ...query, ['_sort', '-date']];
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
