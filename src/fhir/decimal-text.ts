/**
 * A decimal's precision is part of its value (https://hl7.org/fhir/R4/datatypes.html#decimal):
 * `1.50` must leave the server as `1.50`, not as JavaScript's `1.5`. Everything that reads a
 * resource (validation, FHIRPath in @medplum/core, scores, search indexing, domain rules) needs a
 * JS number, so the number stays a number and the text as written is kept beside it.
 *
 * Where the text is kept: in a table `{ key: text }` under the symbol DECIMAL_TEXT on the object
 * or array that holds the number, only for numbers whose JS rendering differs from the text (1.50,
 * 0.10, 100.0, -0, 1e2, more digits than a double holds). The symbol property is enumerable, so
 * the copies this codebase makes all the time (spread, rest, Object.assign) carry the table along,
 * while JSON.stringify, Object.keys, for-in, ajv and FHIRPath never see it. A WeakMap keyed by the
 * holder would have been lost by each of those copies. A copy that changes the number (`{...q,
 * value: 2}`) carries a stale text: a text is only ever used while it still denotes the number it
 * stands beside, so a stale one is ignored. Copies that drop symbols (structuredClone, JSON round
 * trips) go through copyFhir instead.
 */
import { randomUUID } from 'node:crypto';

/** The table of texts of an object or array; never mutated once set (copies share it). */
export const DECIMAL_TEXT: unique symbol = Symbol('fhir.decimalText');

type DecimalTexts = Readonly<Record<string, string>>;
interface Holder {
  [DECIMAL_TEXT]?: DecimalTexts;
}

/** Whether the JS rendering of `value` is not `text` as written, so the text must be kept. */
export function differsFromText(value: number, text: string): boolean {
  return String(value) !== text;
}

/** Sets the texts of a holder's numbers at once (the JSON readers, which know them all at the end). */
export function setDecimalTexts(holder: object, texts: DecimalTexts): void {
  (holder as Holder)[DECIMAL_TEXT] = texts;
}

/** Keeps `text` for `holder[key]`, or forgets the kept text when `text` is undefined. */
export function keepDecimalText(holder: object, key: string | number, text: string | undefined): void {
  const h = holder as Holder;
  const current = h[DECIMAL_TEXT];
  const name = String(key);
  if (text === undefined) {
    if (current?.[name] !== undefined) {
      const { [name]: _dropped, ...rest } = current;
      h[DECIMAL_TEXT] = rest;
    }
    return;
  }
  h[DECIMAL_TEXT] = { ...current, [name]: text };
}

/** The text as written of the number at `holder[key]`, when it differs from the JS rendering and still denotes the number. */
export function decimalTextOf(holder: unknown, key: string | number): string | undefined {
  if (typeof holder !== 'object' || holder === null) {
    return undefined;
  }
  const text = (holder as Holder)[DECIMAL_TEXT]?.[String(key)];
  const value: unknown = (holder as Record<string, unknown>)[key];
  return text !== undefined && typeof value === 'number' && Object.is(Number(text), value) ? text : undefined;
}

/** The number at `holder[key]` as written: its kept text, or its JS rendering. */
export function decimalLexical(holder: unknown, key: string | number, value: number): string {
  return decimalTextOf(holder, key) ?? String(value);
}

/** Copies the texts of `from` onto `to` (a new object built from some of the keys of `from`). */
export function copyDecimalTexts<T extends object>(from: object, to: T): T {
  const texts = (from as Holder)[DECIMAL_TEXT];
  if (texts !== undefined) {
    (to as Holder)[DECIMAL_TEXT] = texts;
  }
  return to;
}

function holdsDecimalText(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) {
    return false;
  }
  if ((value as Holder)[DECIMAL_TEXT] !== undefined) {
    return true;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === 'object' && holdsDecimalText(item)) {
        return true;
      }
    }
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (typeof child === 'object' && child !== null && holdsDecimalText(child)) {
      return true;
    }
  }
  return false;
}

/*
 * Node 20 has no JSON.rawJSON, so a kept text leaves JSON.stringify as a marked string and the
 * marks are then cut off with their quotes. The mark holds a random id drawn at start and never
 * written anywhere, so no string a client sends can be mistaken for one.
 */
const MARK = `\uE000${randomUUID()}:`;
const MARKED = new RegExp(`"${MARK}([-+.0-9eE]+)"`, 'g');

function keepText(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    const text = decimalTextOf(this, key);
    if (text !== undefined) {
      return MARK + text;
    }
  }
  return value;
}

/**
 * JSON.stringify that writes every decimal as it was written. Trees without kept texts (most)
 * take plain JSON.stringify after one walk that looks for a table.
 */
export function stringifyFhir(value: unknown, space?: number): string {
  if (!holdsDecimalText(value)) {
    return JSON.stringify(value, undefined, space);
  }
  return JSON.stringify(value, keepText, space).replace(MARKED, '$1');
}

/**
 * The JSON text a resource is stored as. Text that holds kept decimals starts with one space
 * (whitespace before a JSON value is plain JSON, RFC 8259 section 2): the mark by which
 * parseStoredJson (json-parse.ts) knows, at the cost of one character comparison, that it must
 * read the text with its decimals' texts; all other stored text takes plain JSON.parse.
 */
export function storedFhirJson(value: unknown): string {
  if (!holdsDecimalText(value)) {
    return JSON.stringify(value);
  }
  return ` ${JSON.stringify(value, keepText).replace(MARKED, '$1')}`;
}

/** Stored JSON as an answer: without the mark of storedFhirJson. */
export function withoutStoredMark(json: string): string {
  return json.charCodeAt(0) === 0x20 ? json.slice(1) : json;
}

/** A deep copy of a JSON tree with its kept texts; for where structuredClone would be used. */
export function copyFhir<T>(value: T): T {
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  if (Array.isArray(value)) {
    return copyDecimalTexts(value, value.map((item: unknown) => copyFhir(item))) as T;
  }
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    out[key] = copyFhir(record[key]);
  }
  return copyDecimalTexts(value, out) as T;
}

/** Whether `a[key]` and `b[key]` are written alike (both numbers equal already). */
export function sameDecimalText(a: object, b: object, key: string | number): boolean {
  return decimalTextOf(a, key) === decimalTextOf(b, key);
}
