/**
 * URI search (https://hl7.org/fhir/R4/search.html#uri): exact by default; `:below` matches URIs
 * that start with the value, `:above` URIs of which the value is a descendant (the value itself or
 * one of its parent paths).
 */
import { prefixSuccessor, unescapeValue } from '../text.js';
import type { SqlContext } from './context.js';

/** `http://a/b/c` and its ancestors `http://a/b`, `http://a` (never the bare scheme). */
function ancestors(uri: string): string[] {
  const result = [uri];
  let current = uri.replace(/\/+$/, '');
  const root = /^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.exec(current)?.[0].length ?? 0;
  while (current.lastIndexOf('/') > root) {
    current = current.slice(0, current.lastIndexOf('/'));
    result.push(current);
  }
  if (root > 0 && current.length > root) {
    result.push(current.slice(0, root));
  }
  return [...new Set(result)];
}

export function uriMatch(ctx: SqlContext, column: string, raw: string, modifier: 'below' | 'above' | undefined): string {
  const value = unescapeValue(raw);
  switch (modifier) {
    case 'below':
      return `${column} >= ${ctx.params.bind(value)} AND ${column} < ${ctx.params.bind(prefixSuccessor(value))}`;
    case 'above':
      return `${column} = ANY(${ctx.params.bind(ancestors(value))}::text[])`;
    case undefined:
      return `${column} = ${ctx.params.bind(value)}`;
  }
}
