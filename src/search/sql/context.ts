/**
 * What every SQL fragment builder shares: the list of bound parameters (search values are always
 * bound, never spliced into SQL text), this server's base URL, and the access narrowing that
 * security applies to every resource a search touches.
 */
import { r4ResourceTypes } from '../../fhir/definitions.js';
import type { ResolvedValueSet } from '../../terminology/stored-terminology.js';
import type { AccessFilter } from '../types.js';

export class SqlParams {
  readonly values: unknown[] = [];
  private aliases = 0;

  /** A fresh table alias, unique within the statement. */
  alias(prefix: string): string {
    this.aliases += 1;
    return `${prefix}${this.aliases}`;
  }

  /** Adds a value and answers its placeholder (`$3`). */
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface SqlContext {
  readonly params: SqlParams;
  /** Absolute base URL: references on it are local. */
  readonly baseUrl: string;
  readonly access: AccessFilter | undefined;
  /** The value sets of `:in`/`:not-in` criteria, resolved before the SQL is built. */
  readonly valueSets?: ReadonlyMap<string, ResolvedValueSet>;
}

/** The resource rows a predicate is about: a table alias with sid, resource_type and id columns. */
export interface Scope {
  readonly alias: string;
  /** The resource types the alias can have; undefined means any type (system search). */
  readonly types: readonly string[] | undefined;
}

/**
 * The types to name on an index table: a system search without _type names every type, so that
 * the (resource_type, param, ...) indexes still apply instead of a scan of the whole table.
 */
export function indexTypes(scope: Scope): readonly string[] {
  return scope.types ?? r4ResourceTypes();
}

/** `x.resource_type = $n` for the scope's types, or nothing when any type goes. */
export function typeCondition(ctx: SqlContext, column: string, types: readonly string[] | undefined): string | undefined {
  if (types === undefined) {
    return undefined;
  }
  if (types.length === 1) {
    return `${column} = ${ctx.params.bind(types[0])}`;
  }
  return `${column} = ANY(${ctx.params.bind(types)}::text[])`;
}

/** Conditions joined with AND; `true` when there are none. */
export function and(conditions: ReadonlyArray<string | undefined>): string {
  const list = conditions.filter((c): c is string => c !== undefined && c !== '');
  return list.length === 0 ? 'true' : list.map((c) => `(${c})`).join(' AND ');
}

export function or(conditions: readonly string[]): string {
  return conditions.length === 0 ? 'false' : conditions.length === 1 ? (conditions[0] as string) : conditions.map((c) => `(${c})`).join(' OR ');
}

/** The access narrowing for a resource alias, when security asks for one. */
export function accessCondition(ctx: SqlContext, alias: string): string | undefined {
  return ctx.access?.({ alias, bind: (value) => ctx.params.bind(value) });
}
