/**
 * Text rules shared by the indexer and the query side: string normalisation and the escaping of
 * search values (https://hl7.org/fhir/R4/search.html#escaping).
 */

const COMBINING_MARKS = /\p{M}/gu;

/**
 * Case- and accent-insensitive form of a string for the default string search
 * (https://hl7.org/fhir/R4/search.html#string): decomposed, combining marks removed, lower case.
 * "Ötzi", "otzi" and "ÖTZI" all become "otzi".
 */
export function normalizeText(value: string): string {
  return value.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase();
}

/**
 * Code points of a string's normalised form that the string index holds. PostgreSQL refuses a
 * btree entry over about 2.7 KB, while FHIR strings may run to 1 MB
 * (https://hl7.org/fhir/R4/datatypes.html#string), so the indexed form is a bounded prefix:
 * 512 code points are at most 2 KB of UTF-8. `exact` keeps the whole value.
 */
export const INDEXED_TEXT_LENGTH = 512;

/** normalizeText cut to INDEXED_TEXT_LENGTH code points, as PostgreSQL's left() counts them. */
export function indexedText(value: string): string {
  const norm = normalizeText(value);
  // A string of at most N UTF-16 units has at most N code points.
  return norm.length <= INDEXED_TEXT_LENGTH ? norm : Array.from(norm).slice(0, INDEXED_TEXT_LENGTH).join('');
}

/**
 * Splits on an unescaped separator (`,` between OR values, `|` in tokens, `$` in composites) and
 * removes the escapes of the separator from each part. A backslash before any other character is
 * kept, so `\\` survives until the last split unescapes it.
 */
export function splitEscaped(value: string, separator: string, limit = Infinity): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      const next = value[i + 1] as string;
      current += next === separator ? next : c + next;
      i++;
    } else if (c === separator && parts.length < limit - 1) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** Removes the remaining escapes once a value is split into its final parts. */
export function unescapeValue(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

/** Escapes LIKE wildcards so that a value matches literally inside a LIKE pattern. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The smallest string greater than every string that starts with prefix (C collation, code point
 * order): prefix with its last code point incremented. `norm >= p AND norm < successor(p)` is a
 * starts-with test that a btree index answers as one range scan.
 */
export function prefixSuccessor(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop();
  if (last === undefined) {
    return '';
  }
  let code = (last.codePointAt(0) as number) + 1;
  if (code >= 0xd800 && code <= 0xdfff) {
    code = 0xe000;
  }
  return chars.join('') + String.fromCodePoint(code);
}
