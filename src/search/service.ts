/**
 * The search service (https://hl7.org/fhir/R4/search.html): parses the request, turns the
 * criteria into one SQL condition on `resource r` answered by the index tables, reads one page by
 * keyset, adds includes and builds the searchset Bundle. Conditional interactions reuse the same
 * parser and planner through findIds.
 */
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../fhir/definitions.js';
import { badRequest, isOperationOutcomeError, issue } from '../fhir/outcomes.js';
import { queryValues, type QueryParams } from '../fhir/request.js';
import { withBinaryData } from '../repository/binary-content.js';
import type { Queryable } from '../storage/database.js';
import { buildBundle, type PageLinks } from './bundle.js';
import { searchCapabilities } from './capabilities.js';
import { compartmentSql } from './compartment.js';
import { loadIncludes, type IncludedRow } from './include.js';
import { createIndexer } from './indexer.js';
import { cursorValue, decodeCursor, encodeCursor, pageStatement, type Cursor } from './paging.js';
import { ignored, parseSearchRequest, type RequestLimits, type SearchRequest } from './request.js';
import { orderTerms } from './sort.js';
import { searchTotal, type TotalPolicy } from './total.js';
import { accessCondition, and, SqlParams, typeCondition, type SqlContext } from './sql/context.js';
import { criterionSql } from './sql/criteria.js';
import type { AccessFilter, SearchInput, SearchService } from './types.js';
import { resolveRequestValueSets } from './value-set-criteria.js';
import { parseStoredJson } from '../fhir/json-parse.js';

/** A row of the page statement (search/paging.ts): the match, its sort keys and its content. */
interface PageRow {
  sid: string | number;
  resource_type: string;
  id: string;
  content: string;
  snap?: string | number | null;
  [key: `k${number}`]: unknown;
}

/** `_type=Patient,Observation` of a system search; undefined means every type. */
function systemTypes(query: QueryParams): string[] | undefined {
  const values = queryValues(query, '_type');
  if (values.length === 0) {
    return undefined;
  }
  const types = values.flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types) {
    if (!isR4ResourceType(type)) {
      throw badRequest(`_type: unknown resource type "${type}"`, '_type');
    }
  }
  return [...new Set(types)];
}

/** The WHERE condition on `r` for the criteria; under lenient handling bad ones become warnings. */
function criteriaCondition(ctx: SqlContext, types: readonly string[] | undefined, request: SearchRequest, lenient: boolean): string[] {
  const conditions: string[] = [];
  for (const { criterion, name, value } of request.criteria) {
    const mark = ctx.params.values.length;
    try {
      conditions.push(criterionSql(ctx, { alias: 'r', types }, criterion));
    } catch (error) {
      if (!lenient || !isOperationOutcomeError(error)) {
        throw error;
      }
      ctx.params.values.length = mark;
      request.issues.push(ignored(name, error.outcome.issue?.[0]?.details?.text));
      const at = request.echo.findIndex(([n, v]) => n === name && v === value);
      request.echo.splice(at, 1);
    }
  }
  return conditions;
}

/** The warning of a page whose _include / _revinclude resources were cut off at SEARCH_MAX_INCLUDES. */
function includesCut(max: number): OperationOutcomeIssue {
  return issue({
    severity: 'warning',
    code: 'too-costly',
    text: `Only ${max} resources were included in this page (_include, _revinclude); ask for a smaller _count to get all included resources of each match`,
    expression: ['_include', '_revinclude'],
  });
}

export function createSearchService(limits: RequestLimits, totals: TotalPolicy = { exactLimit: 1000, engine: 'postgres' }): SearchService {
  const indexer = createIndexer();

  function baseConditions(ctx: SqlContext, types: readonly string[] | undefined): Array<string | undefined> {
    return [typeCondition(ctx, 'r.resource_type', types), 'NOT r.deleted', accessCondition(ctx, 'r')];
  }

  return {
    indexer,
    capabilities: searchCapabilities,

    async findIds(db: Queryable, resourceType: string, criteria: QueryParams, limit = 2, access?: AccessFilter): Promise<string[]> {
      const request = parseSearchRequest([resourceType], criteria, false, limits);
      const ctx: SqlContext = { params: new SqlParams(), baseUrl: '', access, valueSets: await resolveRequestValueSets(db, request) };
      const filter = and([...baseConditions(ctx, [resourceType]), ...criteriaCondition(ctx, [resourceType], request, false)]);
      const rows = await db.query<{ id: string }>(
        `SELECT r.id FROM resource r WHERE ${filter} ORDER BY r.sid LIMIT ${ctx.params.bind(limit)}`,
        ctx.params.values
      );
      return rows.map((row) => row.id);
    },

    async search(db: Queryable, input: SearchInput): Promise<Bundle> {
      const lenient = input.prefer.handling === 'lenient';
      const types = input.resourceTypes ?? systemTypes(input.query);
      const query = input.resourceTypes === undefined ? input.query.filter(([name]) => name !== '_type') : input.query;
      const request = parseSearchRequest(types, query, lenient, limits);
      if (input.resourceTypes === undefined && types !== undefined) {
        request.echo.unshift(['_type', types.join(',')]);
      }
      const ctx: SqlContext = { params: new SqlParams(), baseUrl: input.baseUrl, access: input.access, valueSets: await resolveRequestValueSets(db, request) };
      const conditions = baseConditions(ctx, types);
      if (input.compartment && types?.[0] !== undefined) {
        conditions.push(compartmentSql(ctx, { alias: 'r', types }, input.compartment, types[0]));
      }
      conditions.push(...criteriaCondition(ctx, types, request, lenient));
      const cursor: Cursor | undefined = request.cursor === undefined ? undefined : decodeCursor(request.cursor, request.sort.length + 1);
      if (cursor) {
        conditions.push(`r.sid <= ${ctx.params.bind(cursor.snapshot)}::bigint`);
      }
      const filter = and(conditions);
      const filterParams = [...ctx.params.values];

      const totalMode = request.summary === 'count' ? 'accurate' : request.total;
      let wholeResult = false;

      let matches: IncludedRow[] = [];
      const links: PageLinks = {};
      if (request.summary !== 'count' && request.count > 0) {
        const terms = orderTerms(ctx, request.sort);
        const statement = pageStatement(ctx, terms, filter, cursor, request.count);
        const rows = await db.query<PageRow>(statement.sql, ctx.params.values);
        const more = rows.length > request.count;
        const page = rows.slice(0, request.count);
        if (statement.reversed) {
          page.reverse();
        }
        const snapshot = cursor?.snapshot ?? String(rows[0]?.snap ?? '0');
        const at = (row: PageRow | undefined, direction: Cursor['direction']): string | undefined =>
          row && encodeCursor({ direction, snapshot, values: terms.map((_, i) => cursorValue(row[`k${i}`])) });
        if (statement.reversed || more) {
          links.next = at(page[page.length - 1], 'next');
        }
        if (cursor && (!statement.reversed || more)) {
          links.previous = at(page[0], 'prev');
        }
        matches = page.map((row) => ({ sid: String(row.sid), resource_type: row.resource_type, id: row.id, content: row.content }));
        wholeResult = !cursor && !more;
      }
      // The whole result fits in the first page: its size is the total, at no cost (search/total.ts).
      const total = wholeResult && totalMode === undefined ? matches.length : await searchTotal(db, totalMode, filter, filterParams, totals);
      const included = await loadIncludes(db, request.includes, matches, input.baseUrl, input.access, limits.maxIncludes);
      if (!included.complete) {
        request.issues.push(includesCut(limits.maxIncludes ?? included.rows.length));
      }
      const parse = (row: IncludedRow): Resource => parseStoredJson<Resource>(row.content);
      // Binary matches and includes with their bytes (repository/binary-content.ts); one query.
      const resources = await withBinaryData(db, [...matches.map(parse), ...included.rows.map(parse)]);
      return buildBundle({
        input,
        request,
        total,
        links,
        matches: resources.slice(0, matches.length),
        included: resources.slice(matches.length),
      });
    },
  };
}
