/**
 * Composite search (https://hl7.org/fhir/R4/search.html#composite): `code$value`, e.g.
 * `component-code-value-quantity=http://loinc.org|8480-6$gt140`. The components of one item were
 * indexed with the same grp (index-extract.ts), so the join on (sid, grp) keeps code and value
 * of the same Observation.component together.
 */
import { badRequest } from '../../fhir/outcomes.js';
import type { Leaf } from '../parse.js';
import { INDEX_TABLES } from '../index-rows.js';
import { splitEscaped } from '../text.js';
import { and, indexTypes, or, typeCondition, type Scope, type SqlContext } from './context.js';
import { valueMatch } from './criteria.js';

export function compositeMatch(ctx: SqlContext, scope: Scope, leaf: Leaf): string {
  const components = leaf.param.components;
  const aliases = components.map(() => ctx.params.alias('c'));
  const first = aliases[0] as string;
  const joins = components.slice(1).map((component, i) => {
    const c = aliases[i + 1] as string;
    return `JOIN ${INDEX_TABLES[component.type].table} ${c} ON ${c}.sid = ${first}.sid AND ${c}.grp = ${first}.grp AND ${c}.param = ${ctx.params.bind(component.rowName)}`;
  });
  const alternatives = leaf.values.map((value) => {
    const parts = splitEscaped(value, '$');
    if (parts.length !== components.length) {
      throw badRequest(`${leaf.name}: "${value}" needs ${components.length} parts separated by $`, leaf.name);
    }
    return and(components.map((component, i) => valueMatch(ctx, component.type, aliases[i] as string, parts[i] as string, undefined, leaf.name)));
  });
  const head = components[0];
  if (!head) {
    throw badRequest(`${leaf.name} has no components`, leaf.name);
  }
  const where = and([typeCondition(ctx, `${first}.resource_type`, indexTypes(scope)), `${first}.param = ${ctx.params.bind(head.rowName)}`, or(alternatives)]);
  return `${scope.alias}.sid IN (SELECT ${first}.sid FROM ${INDEX_TABLES[head.type].table} ${first} ${joins.join(' ')} WHERE ${where})`;
}
