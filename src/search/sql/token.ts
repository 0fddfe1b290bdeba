/**
 * Token search (https://hl7.org/fhir/R4/search.html#token): `code`, `system|code`, `|code` (no
 * system) and `system|` (any code of the system). Codes and systems compare exactly.
 */
import { splitEscaped, unescapeValue } from '../text.js';
import { and, type SqlContext } from './context.js';

export interface TokenColumns {
  readonly system: string;
  readonly code: string;
}

export function tokenMatch(ctx: SqlContext, columns: TokenColumns, value: string): string {
  const parts = splitEscaped(value, '|', 2);
  if (parts.length === 1) {
    return `${columns.code} = ${ctx.params.bind(unescapeValue(value))}`;
  }
  const [system, code] = parts.map(unescapeValue) as [string, string];
  return and([
    system === '' ? `${columns.system} IS NULL` : `${columns.system} = ${ctx.params.bind(system)}`,
    code === '' ? undefined : `${columns.code} = ${ctx.params.bind(code)}`,
  ]);
}

/**
 * :of-type on identifiers: `type-system|type-code|value`, indexed under `{param}:of-type` with the
 * type's `system|code` in the system column.
 */
export function ofTypeValue(value: string): { system: string; code: string } | undefined {
  const parts = splitEscaped(value, '|');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    return undefined;
  }
  const [system, code, identifier] = parts.map(unescapeValue) as [string, string, string];
  return { system: `${system}|${code}`, code: identifier };
}
