/**
 * Reference search (https://hl7.org/fhir/R4/search.html#reference): `id`, `Type/id`,
 * `Type/id/_history/v`, an absolute URL (local when it is on this server's base), a canonical URL
 * with an optional `|version`, and the `:{Type}` modifier. A search without a version matches
 * references with and without one, because the version is a column of its own.
 */
import { parseLocalReference } from '../../fhir/references.js';
import { badRequest } from '../../fhir/outcomes.js';
import { unescapeValue } from '../text.js';
import { and, type SqlContext } from './context.js';

export interface ReferenceColumns {
  readonly targetType: string;
  readonly targetId: string;
  readonly targetVersion: string;
  readonly url: string;
}

const PLAIN_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function referenceMatch(
  ctx: SqlContext,
  columns: ReferenceColumns,
  raw: string,
  typeModifier: string | undefined,
  name: string
): string {
  const value = unescapeValue(raw);
  const bind = (v: unknown): string => ctx.params.bind(v);
  if (typeModifier !== undefined) {
    const local = parseLocalReference(value, ctx.baseUrl);
    const id = local && local.resourceType === typeModifier ? local.id : value;
    if (!PLAIN_ID.test(id)) {
      throw badRequest(`${name}: "${value}" is not an id of a ${typeModifier}`, name);
    }
    return `${columns.targetType} = ${bind(typeModifier)} AND ${columns.targetId} = ${bind(id)}`;
  }
  const local = parseLocalReference(value, ctx.baseUrl);
  if (local) {
    return and([
      `${columns.targetId} = ${bind(local.id)}`,
      `${columns.targetType} = ${bind(local.resourceType)}`,
      local.versionId === undefined ? undefined : `${columns.targetVersion} = ${bind(local.versionId)}`,
    ]);
  }
  if (PLAIN_ID.test(value)) {
    return `${columns.targetId} = ${bind(value)}`;
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    throw badRequest(`${name}: "${value}" is not an id, a Type/id reference or a URL`, name);
  }
  const bar = value.lastIndexOf('|');
  const url = bar === -1 ? value : value.slice(0, bar);
  return and([`${columns.url} = ${bind(url)}`, bar === -1 ? undefined : `${columns.targetVersion} = ${bind(value.slice(bar + 1))}`]);
}
