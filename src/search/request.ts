/**
 * A search request from query parameters: criteria plus the result parameters of
 * https://hl7.org/fhir/R4/search.html#return. Unknown or malformed parameters answer 400 naming
 * them, unless the client sent `Prefer: handling=lenient` (search.html#errors): then they are
 * left out and reported as warnings in the Bundle.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badRequest, issue, isOperationOutcomeError } from '../fhir/outcomes.js';
import type { QueryParams } from '../fhir/request.js';
import { parseInclude, type IncludeSpec } from './include.js';
import { parseCriterion, type Criterion } from './parse.js';
import { parseSort, type SortKey } from './sort.js';
import type { SummaryMode } from './summary.js';

export type TotalMode = 'none' | 'estimate' | 'accurate';

export interface SearchRequest {
  readonly criteria: Array<{ readonly criterion: Criterion; readonly name: string; readonly value: string }>;
  readonly sort: SortKey[];
  readonly count: number;
  readonly cursor: string | undefined;
  readonly total: TotalMode | undefined;
  readonly summary: SummaryMode | undefined;
  readonly elements: string[] | undefined;
  readonly includes: IncludeSpec[];
  /** Parameters left out under lenient handling, as warnings. */
  readonly issues: OperationOutcomeIssue[];
  /** The parameters that were used (without _cursor), for the Bundle links. */
  readonly echo: Array<[string, string]>;
}

export interface RequestLimits {
  readonly defaultCount: number;
  readonly maxCount: number;
  /** Resources _include and _revinclude may add to one page (SEARCH_MAX_INCLUDES); unlimited when unset. */
  readonly maxIncludes?: number;
}

const SUMMARY: readonly string[] = ['true', 'false', 'text', 'data', 'count'];
const TOTAL: readonly string[] = ['none', 'estimate', 'accurate'];

function once<T>(current: T | undefined, name: string): void {
  if (current !== undefined) {
    throw badRequest(`${name} may appear only once`, name);
  }
}

/**
 * Parses the query of a search over `types` (undefined: every type). Criteria-only callers
 * (conditional interactions) pass strict handling and ignore the result parameters.
 */
export function parseSearchRequest(types: readonly string[] | undefined, query: QueryParams, lenient: boolean, limits: RequestLimits): SearchRequest {
  const request: {
    -readonly [K in keyof SearchRequest]: SearchRequest[K];
  } = {
    criteria: [],
    sort: [],
    count: limits.defaultCount,
    cursor: undefined,
    total: undefined,
    summary: undefined,
    elements: undefined,
    includes: [],
    issues: [],
    echo: [],
  };
  let countSeen: number | undefined;
  let sortSeen: boolean | undefined;
  for (const [name, value] of query) {
    try {
      if (name === '_cursor') {
        request.cursor = value;
        continue;
      }
      if (name === '_count') {
        once(countSeen, name);
        if (!/^\d+$/.test(value)) {
          throw badRequest(`_count must be a whole number, got "${value}"`, name);
        }
        countSeen = Math.min(Number(value), limits.maxCount);
        request.count = countSeen;
        if (Number(value) > limits.maxCount) {
          // search.html#count: the server may return fewer; it says so in the Bundle (search.mode outcome).
          request.issues.push(pageSizeReduced(limits.maxCount));
        }
      } else if (name === '_sort') {
        once(sortSeen, name);
        sortSeen = true;
        request.sort = parseSort(types, value);
      } else if (name === '_total') {
        once(request.total, name);
        if (!TOTAL.includes(value)) {
          throw badRequest(`_total must be one of ${TOTAL.join(', ')}`, name);
        }
        request.total = value as TotalMode;
      } else if (name === '_summary') {
        once(request.summary, name);
        if (!SUMMARY.includes(value)) {
          throw badRequest(`_summary must be one of ${SUMMARY.join(', ')}`, name);
        }
        request.summary = value as SummaryMode;
      } else if (name === '_elements') {
        once(request.elements, name);
        request.elements = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
      } else if (/^_(rev)?include(:iterate|:recurse)?$/.test(name)) {
        request.includes.push(parseInclude(name, value));
      } else if (value === '') {
        // Parameters without a value are ignored (search.html#errors).
        continue;
      } else {
        request.criteria.push({ criterion: parseCriterion(types, name, value), name, value });
      }
      // Links repeat the page size in use, so that the next page does not ask too much again.
      request.echo.push([name, name === '_count' ? String(request.count) : value]);
    } catch (error) {
      if (!lenient || !isOperationOutcomeError(error)) {
        throw error;
      }
      request.issues.push(ignored(name, error.outcome.issue?.[0]?.details?.text));
    }
  }
  return request;
}

function pageSizeReduced(maxCount: number): OperationOutcomeIssue {
  return issue({
    severity: 'warning',
    code: 'too-costly',
    text: `_count was reduced to ${maxCount}, the largest page this server answers; follow the next link for more`,
    expression: '_count',
  });
}

/** The warning for a parameter left out under lenient handling. */
export function ignored(name: string, reason: string | undefined): OperationOutcomeIssue {
  return issue({
    severity: 'warning',
    code: 'not-supported',
    text: `Parameter "${name}" was ignored${reason ? `: ${reason}` : ''}`,
    expression: name,
  });
}
