/**
 * `:in` and `:not-in` (https://hl7.org/fhir/R4/search.html#modifiers): a token matches when its
 * code is (is not) in a ValueSet, named by canonical URL or as `ValueSet/{id}`. The value sets are
 * resolved and expanded before the SQL is built (terminology/stored-terminology.ts), so the
 * criterion becomes one index lookup against the list of codes.
 */
import type { ValueSet } from '@medplum/fhirtypes';
import { isValidId } from '../fhir/ids.js';
import { badRequest, notSupported } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import { resolveValueSets, type ResolvedValueSet } from '../terminology/stored-terminology.js';
import type { Criterion } from './parse.js';
import type { SearchRequest } from './request.js';
import { unescapeValue } from './text.js';

export const VALUE_SET_MODIFIERS: readonly string[] = ['in', 'not-in'];

function references(criterion: Criterion, into: Set<string>): Set<string> {
  switch (criterion.kind) {
    case 'leaf':
      if (criterion.modifier !== undefined && VALUE_SET_MODIFIERS.includes(criterion.modifier)) {
        criterion.values.forEach((v) => into.add(unescapeValue(v)));
      }
      break;
    case 'chain':
      criterion.branches.forEach((b) => references(b.next, into));
      break;
    case 'has':
      references(criterion.next, into);
      break;
  }
  return into;
}

/** The value sets the request's `:in`/`:not-in` criteria name, resolved; empty when there are none. */
export async function resolveRequestValueSets(db: Queryable, request: SearchRequest): Promise<ReadonlyMap<string, ResolvedValueSet>> {
  const named = new Set<string>();
  request.criteria.forEach((c) => references(c.criterion, named));
  if (named.size === 0) {
    return new Map();
  }
  const ids = [...named].flatMap((n) => (n.startsWith('ValueSet/') && isValidId(n.slice('ValueSet/'.length)) ? [n.slice('ValueSet/'.length)] : []));
  const local = new Map<string, ValueSet>();
  if (ids.length > 0) {
    const rows = await db.query<{ id: string; content: string }>(
      `SELECT id, content FROM resource WHERE resource_type = 'ValueSet' AND id = ANY($1::text[]) AND NOT deleted`,
      [ids]
    );
    rows.forEach((row) => local.set(`ValueSet/${row.id}`, JSON.parse(row.content) as ValueSet));
  }
  return resolveValueSets(db, [...named], local);
}

/** The codes of the value sets a criterion names (OR of its values), as parallel arrays for SQL. */
export function valueSetCodes(
  valueSets: ReadonlyMap<string, ResolvedValueSet> | undefined,
  values: readonly string[],
  name: string
): { systems: string[]; codes: string[] } {
  const systems: string[] = [];
  const codes: string[] = [];
  for (const value of values.map(unescapeValue)) {
    const resolved = valueSets?.get(value);
    if (!resolved?.found) {
      throw badRequest(`${name}: ValueSet ${value} is not known to this server`, name);
    }
    if (!resolved.expansion) {
      throw notSupported(`${name}: ValueSet ${value} cannot be expanded here (it needs a terminology server, or holds more codes than a search takes)`, name);
    }
    for (const coding of resolved.expansion.codings()) {
      systems.push(coding.system);
      codes.push(coding.code);
    }
  }
  return { systems, codes };
}
