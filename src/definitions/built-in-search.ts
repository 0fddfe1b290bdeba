/**
 * Searching the built-in definitions (built-in-definitions.ts) in memory, by the parameters a
 * client needs to find a definition (https://hl7.org/fhir/R4/search.html): `_id`, `url`, `name`,
 * `title`, `status`, `version`, and per type `base`, `code`, `type` (SearchParameter) or `type`,
 * `kind` (StructureDefinition). Values separated by commas are alternatives; string parameters
 * match case- and accent-insensitively at the start, or exactly with `:exact`, or anywhere with
 * `:contains` (search.html#string); the others match the value exactly (a `system|code` token
 * compares its code: these elements are of type code and have no system).
 */
import type { QueryParams } from '../fhir/request.js';
import type { BuiltInDefinition } from './built-in-definitions.js';

type Kind = 'string' | 'token';

type Values = (definition: BuiltInDefinition) => ReadonlyArray<string | undefined>;

interface Filter {
  readonly kind: Kind;
  readonly values: Values;
}

const COMMON: Record<string, Filter> = {
  _id: { kind: 'token', values: (d) => [d.id] },
  url: { kind: 'token', values: (d) => [d.url] },
  name: { kind: 'string', values: (d) => [d.name] },
  title: { kind: 'string', values: (d) => ['title' in d ? d.title : undefined] },
  status: { kind: 'token', values: (d) => [d.status] },
  version: { kind: 'token', values: (d) => [d.version] },
};

const PER_TYPE: Record<string, Record<string, Filter>> = {
  SearchParameter: {
    base: { kind: 'token', values: (d) => (d.resourceType === 'SearchParameter' ? d.base ?? [] : []) },
    code: { kind: 'token', values: (d) => [d.resourceType === 'SearchParameter' ? d.code : undefined] },
    type: { kind: 'token', values: (d) => [d.resourceType === 'SearchParameter' ? d.type : undefined] },
  },
  StructureDefinition: {
    type: { kind: 'token', values: (d) => [d.resourceType === 'StructureDefinition' ? d.type : undefined] },
    kind: { kind: 'token', values: (d) => [d.resourceType === 'StructureDefinition' ? d.kind : undefined] },
  },
};

/** Query parameters that shape the page rather than filter; answered by the merged search itself. */
export const PAGE_PARAMETERS: ReadonlySet<string> = new Set(['_count', '_offset', '_total']);

function filterOf(resourceType: string, code: string): Filter | undefined {
  return PER_TYPE[resourceType]?.[code] ?? COMMON[code];
}

function folded(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function matchesOne(filter: Filter, modifier: string | undefined, actual: string, wanted: string): boolean {
  if (filter.kind === 'string') {
    if (modifier === 'exact') {
      return actual === wanted;
    }
    return modifier === 'contains' ? folded(actual).includes(folded(wanted)) : folded(actual).startsWith(folded(wanted));
  }
  const bar = wanted.indexOf('|');
  return actual === (bar >= 0 ? wanted.slice(bar + 1) : wanted);
}

function splitName(name: string): { code: string; modifier: string | undefined } {
  const colon = name.indexOf(':');
  return colon < 0 ? { code: name, modifier: undefined } : { code: name.slice(0, colon), modifier: name.slice(colon + 1) };
}

/**
 * Whether every parameter of the query is one the built-in definitions of this type can be searched
 * by (with a modifier that applies to it); if not, the search runs over stored resources only.
 */
export function searchableInMemory(resourceType: string, query: QueryParams): boolean {
  return query.every(([name]) => {
    if (PAGE_PARAMETERS.has(name)) {
      return true;
    }
    const { code, modifier } = splitName(name);
    const filter = filterOf(resourceType, code);
    return filter !== undefined && (modifier === undefined || (filter.kind === 'string' && (modifier === 'exact' || modifier === 'contains')));
  });
}

/** The query's filters without the page parameters (what the stored side is searched with). */
export function filterParameters(query: QueryParams): QueryParams {
  return query.filter(([name]) => !PAGE_PARAMETERS.has(name));
}

/** Whether a built-in definition matches every filter of the query (searchableInMemory must hold). */
export function matchesQuery(definition: BuiltInDefinition, query: QueryParams): boolean {
  return filterParameters(query).every(([name, value]) => {
    const { code, modifier } = splitName(name);
    const filter = filterOf(definition.resourceType, code);
    if (!filter) {
      return false;
    }
    const actual = filter.values(definition).filter((v): v is string => v !== undefined);
    const wanted = value.split(',');
    return actual.some((a) => wanted.some((w) => matchesOne(filter, modifier, a, w)));
  });
}
