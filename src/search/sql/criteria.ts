/**
 * Criteria to SQL: every criterion becomes a condition on a resource alias that an index answers.
 * A leaf is a semi-join on its index table (`alias.sid IN (SELECT sid FROM search_token ...)`),
 * negations (:not, :missing=true) are anti-joins, chains join through search_reference to the
 * target resources, and _has joins back from the referring resources.
 */
import type { Chain, Criterion, Has, Leaf } from '../parse.js';
import { INDEX_TABLES } from '../index-rows.js';
import type { IndexedType } from '../parameters.js';
import { accessCondition, and, indexTypes, or, typeCondition, type Scope, type SqlContext } from './context.js';
import { compositeMatch } from './composite.js';
import { dateMatch } from './date.js';
import { numberMatch, quantityMatch } from './number.js';
import { referenceMatch } from './reference.js';
import { stringMatch } from './string.js';
import { ofTypeValue, tokenMatch } from './token.js';
import { uriMatch } from './uri.js';
import { badRequest } from '../../fhir/outcomes.js';
import { unescapeValue } from '../text.js';
import { VALUE_SET_MODIFIERS, valueSetCodes } from '../value-set-criteria.js';

/** The value condition of one alternative on an index-table alias x. */
export function valueMatch(ctx: SqlContext, type: IndexedType, x: string, value: string, modifier: string | undefined, name: string): string {
  switch (type) {
    case 'token':
      return tokenMatch(ctx, { system: `${x}.system`, code: `${x}.code` }, value);
    case 'string':
      return stringMatch(ctx, { norm: `${x}.norm`, exact: `${x}.exact` }, value, modifier === 'exact' || modifier === 'contains' ? modifier : undefined);
    case 'date':
      return dateMatch(ctx, { start: `${x}.start_at`, end: `${x}.end_at` }, value, name);
    case 'number':
      return numberMatch(ctx, { low: `${x}.low`, high: `${x}.high` }, value, name);
    case 'quantity':
      return quantityMatch(ctx, { low: `${x}.low`, high: `${x}.high`, system: `${x}.system`, code: `${x}.code`, unit: `${x}.unit` }, value, name);
    case 'reference':
      return referenceMatch(
        ctx,
        { targetType: `${x}.target_type`, targetId: `${x}.target_id`, targetVersion: `${x}.target_version`, url: `${x}.url` },
        value,
        modifier,
        name
      );
    case 'uri':
      return uriMatch(ctx, `${x}.uri`, value, modifier === 'below' || modifier === 'above' ? modifier : undefined);
  }
}

/** `alias.sid IN (SELECT sid FROM <table> WHERE type, param and one of the conditions)`. */
function indexed(ctx: SqlContext, scope: Scope, type: IndexedType, rowName: string, build: (x: string) => string[], negate = false): string {
  const x = ctx.params.alias('x');
  const table = INDEX_TABLES[type].table;
  if (negate) {
    return `NOT EXISTS (SELECT 1 FROM ${table} ${x} WHERE ${x}.sid = ${scope.alias}.sid AND ${x}.param = ${ctx.params.bind(rowName)} AND (${or(build(x))}))`;
  }
  const where = and([typeCondition(ctx, `${x}.resource_type`, indexTypes(scope)), `${x}.param = ${ctx.params.bind(rowName)}`, or(build(x))]);
  return `${scope.alias}.sid IN (SELECT ${x}.sid FROM ${table} ${x} WHERE ${where})`;
}

function missing(ctx: SqlContext, scope: Scope, leaf: Leaf, isMissing: boolean): string {
  const { param } = leaf;
  if (param.column) {
    return isMissing ? 'false' : 'true';
  }
  const type: IndexedType = param.type === 'composite' ? (param.components[0]?.type ?? 'token') : (param.type as IndexedType);
  const rowName = param.type === 'composite' ? (param.components[0]?.rowName ?? param.code) : param.code;
  const x = ctx.params.alias('x');
  const exists = `EXISTS (SELECT 1 FROM ${INDEX_TABLES[type].table} ${x} WHERE ${x}.sid = ${scope.alias}.sid AND ${x}.param = ${ctx.params.bind(rowName)})`;
  return isMissing ? `NOT ${exists}` : exists;
}

function columnLeaf(ctx: SqlContext, scope: Scope, leaf: Leaf): string {
  if (leaf.param.column === 'id') {
    const ids = leaf.values.map(unescapeValue);
    return `${scope.alias}.id = ANY(${ctx.params.bind(ids)}::text[])`;
  }
  return or(leaf.values.map((v) => dateMatch(ctx, { start: `${scope.alias}.last_updated`, end: '', point: true }, v, leaf.name)));
}

function leafSql(ctx: SqlContext, scope: Scope, leaf: Leaf): string {
  const { param, modifier, values, name } = leaf;
  if (modifier === 'missing') {
    return missing(ctx, scope, leaf, values[0] === 'true');
  }
  if (param.column) {
    return columnLeaf(ctx, scope, leaf);
  }
  switch (param.type) {
    case 'composite':
      return compositeMatch(ctx, scope, leaf);
    case 'token':
      if (modifier === 'text') {
        return indexed(ctx, scope, 'string', `${param.code}:text`, (x) => values.map((v) => valueMatch(ctx, 'string', x, v, undefined, name)));
      }
      if (modifier === 'of-type') {
        return indexed(ctx, scope, 'token', `${param.code}:of-type`, (x) =>
          values.map((v) => {
            const parsed = ofTypeValue(v);
            if (!parsed) {
              throw badRequest(`${name}: "${v}" is not type-system|type-code|value`, name);
            }
            return `${x}.system = ${ctx.params.bind(parsed.system)} AND ${x}.code = ${ctx.params.bind(parsed.code)}`;
          })
        );
      }
      if (modifier !== undefined && VALUE_SET_MODIFIERS.includes(modifier)) {
        const { systems, codes } = valueSetCodes(ctx.valueSets, values, name);
        // :not-in, like :not, also matches resources without a value.
        return indexed(
          ctx,
          scope,
          'token',
          param.code,
          // code = ANY leads the index (resource_type, param, code, system). Elements of type code
          // (Patient.gender) are indexed without a system: their code alone decides.
          (x) => {
            const codeList = ctx.params.bind(codes);
            return [
              `${x}.code = ANY(${codeList}::text[]) AND (${x}.system IS NULL OR (${x}.system, ${x}.code) IN (SELECT * FROM unnest(${ctx.params.bind(systems)}::text[], ${codeList}::text[])))`,
            ];
          },
          modifier === 'not-in'
        );
      }
      // :not matches resources without any matching token, including those without a value (R4).
      return indexed(ctx, scope, 'token', param.code, (x) => values.map((v) => valueMatch(ctx, 'token', x, v, undefined, name)), modifier === 'not');
    case 'reference':
      if (modifier === 'identifier') {
        return indexed(ctx, scope, 'token', `${param.code}:identifier`, (x) => values.map((v) => valueMatch(ctx, 'token', x, v, undefined, name)));
      }
      return indexed(ctx, scope, 'reference', param.code, (x) => values.map((v) => valueMatch(ctx, 'reference', x, v, modifier, name)));
    case 'special':
      throw badRequest(`${param.code} cannot be searched`, name);
    default:
      return indexed(ctx, scope, param.type, param.code, (x) => values.map((v) => valueMatch(ctx, param.type as IndexedType, x, v, modifier, name)));
  }
}

function chainSql(ctx: SqlContext, scope: Scope, chain: Chain): string {
  // Resources whose reference points at a current target that matches the rest of the chain.
  const branches = chain.branches.map(({ type, next }) => {
    const ref = ctx.params.alias('ref');
    const target = ctx.params.alias('t');
    const inner = criterionSql(ctx, { alias: target, types: [type] }, next);
    const where = and([
      typeCondition(ctx, `${ref}.resource_type`, indexTypes(scope)),
      `${ref}.param = ${ctx.params.bind(chain.param.code)}`,
      `${ref}.target_type = ${ctx.params.bind(type)}`,
      `${target}.resource_type = ${ref}.target_type`,
      `NOT ${target}.deleted`,
      accessCondition(ctx, target),
      inner,
    ]);
    return `${scope.alias}.sid IN (SELECT ${ref}.sid FROM search_reference ${ref} JOIN resource ${target} ON ${target}.resource_type = ${ref}.target_type AND ${target}.id = ${ref}.target_id WHERE ${where})`;
  });
  return or(branches);
}

function hasSql(ctx: SqlContext, scope: Scope, has: Has): string {
  // Resources that a current resource of sourceType, matching the rest, refers to.
  const ref = ctx.params.alias('ref');
  const source = ctx.params.alias('s');
  const inner = criterionSql(ctx, { alias: source, types: [has.sourceType] }, has.next);
  const where = and([
    `${ref}.resource_type = ${ctx.params.bind(has.sourceType)}`,
    `${ref}.param = ${ctx.params.bind(has.param.code)}`,
    typeCondition(ctx, `${ref}.target_type`, scope.types),
    accessCondition(ctx, source),
    inner,
  ]);
  const pair = `(${scope.alias}.id, ${scope.alias}.resource_type)`;
  return `${pair} IN (SELECT ${ref}.target_id, ${ref}.target_type FROM search_reference ${ref} JOIN resource ${source} ON ${source}.sid = ${ref}.sid WHERE ${where})`;
}

/** The SQL condition for one criterion on the resources of a scope. */
export function criterionSql(ctx: SqlContext, scope: Scope, criterion: Criterion): string {
  switch (criterion.kind) {
    case 'leaf':
      return leafSql(ctx, scope, criterion);
    case 'chain':
      return chainSql(ctx, scope, criterion);
    case 'has':
      return hasSql(ctx, scope, criterion);
  }
}
