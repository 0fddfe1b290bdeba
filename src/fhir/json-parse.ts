/**
 * Strict parser for FHIR JSON bodies, per https://hl7.org/fhir/R4/json.html: JSON.parse accepts
 * what FHIR forbids (duplicate keys, nulls, empty values), so bodies are parsed here instead.
 * Syntax errors stop at once; FHIR rule breaches are all collected with their paths.
 * Keys that could poison prototypes are refused, as Fastify's own JSON parser does.
 *
 * The parser reads the UTF-8 bytes as they arrived, not a decoded copy of them: a 30 MB
 * transaction Bundle then costs its bytes and its parsed tree, not also a 30-60 MB string (a
 * string of non-Latin-1 text takes two bytes a character). The bytes are checked to be UTF-8
 * once up front; each string value is decoded on its own, and since `"` and `\` never occur
 * inside a multi-byte UTF-8 sequence, a value is never cut in the middle of a character.
 */
import { isUtf8 } from 'node:buffer';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badRequestIssues, issue } from './outcomes.js';
import { differsFromText, setDecimalTexts } from './decimal-text.js';

export interface JsonParseOptions {
  /** Deepest nesting of objects and arrays accepted. */
  readonly maxDepth: number;
  /**
   * Whether FHIR's own JSON rules apply (no nulls, no empty strings, arrays or objects); false for
   * JSON Patch documents, whose values are checked as part of the patched resource instead.
   * Duplicate keys, prototype keys, NUL and lone surrogates are refused either way.
   */
  readonly fhirRules?: boolean;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** RFC 8259 number grammar, matched at the start of the candidate text (sticky). */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
/** Bytes that may occur in a JSON number: digits, sign, point, exponent. */
const NUMBER_BYTE = new Uint8Array(256);
for (const c of '0123456789+-.eE') {
  NUMBER_BYTE[c.charCodeAt(0)] = 1;
}

class SyntaxFailure extends Error {}

type PathPart = string | number;

class StrictParser {
  private pos = 0;
  private depth = 0;
  /** The text of the number just read, when its JS rendering differs (fhir/decimal-text.ts). */
  private numberText: string | undefined;
  private readonly path: PathPart[] = [];
  readonly issues: OperationOutcomeIssue[] = [];

  constructor(
    private readonly bytes: Buffer,
    private readonly maxDepth: number,
    private readonly fhirRules: boolean
  ) {
    // A leading byte order mark is dropped, as the decoder of text bodies does (RFC 8259 §8.1).
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      this.pos = 3;
    }
  }

  /** The byte at `p`, or -1 past the end. */
  private at(p: number): number {
    return this.bytes[p] ?? -1;
  }

  parse(): unknown {
    this.skipWhitespace();
    const value = this.value();
    this.skipWhitespace();
    if (this.pos < this.bytes.length) {
      this.syntax('Unexpected content after the JSON value');
    }
    return value;
  }

  private syntax(message: string): never {
    const b = this.bytes;
    const pos = Math.min(this.pos, b.length);
    let line = 1;
    let lineStart = 0;
    for (let p = b.indexOf(0x0a); p !== -1 && p < pos; p = b.indexOf(0x0a, p + 1)) {
      line++;
      lineStart = p + 1;
    }
    // Columns count characters, as an editor shows them, not bytes.
    const column = b.toString('utf8', lineStart, pos).length + 1;
    throw new SyntaxFailure(`${message} at line ${line}, column ${column}`);
  }

  /** A breach of FHIR's JSON rules (json.html), beyond plain JSON. */
  private fhirRule(message: string, extraPart?: PathPart): void {
    if (this.fhirRules) {
      this.rule(message, extraPart);
    }
  }

  private rule(message: string, extraPart?: PathPart): void {
    const parts = extraPart === undefined ? this.path : [...this.path, extraPart];
    this.issues.push(issue({ code: 'structure', text: message, expression: formatPath(parts) }));
  }

  private skipWhitespace(): void {
    const b = this.bytes;
    let p = this.pos;
    for (;;) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        p++;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  private value(): unknown {
    const c = this.at(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.object();
      case 0x5b: // [
        return this.array();
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          return this.number();
        }
        return this.syntax(c === -1 ? 'Unexpected end of JSON' : 'Unexpected character');
    }
  }

  private enter(): void {
    this.depth++;
    if (this.depth > this.maxDepth) {
      this.syntax(`JSON nesting deeper than ${this.maxDepth} levels`);
    }
  }

  private object(): Record<string, unknown> {
    this.enter();
    this.pos++;
    const result: Record<string, unknown> = {};
    const seen = new Set<string>();
    let texts: Record<string, string> | undefined;
    this.skipWhitespace();
    if (this.at(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      this.fhirRule('Empty objects are not allowed in FHIR JSON');
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.at(this.pos) !== 0x22) {
        this.syntax('Expected a property name');
      }
      const key = this.string(true);
      this.skipWhitespace();
      if (this.at(this.pos) !== 0x3a) {
        this.syntax('Expected ":" after a property name');
      }
      this.pos++;
      this.skipWhitespace();
      this.path.push(key);
      this.numberText = undefined;
      const value = this.value();
      // Only a number read right here: a nested container's last number set it too.
      const text = typeof value === 'number' ? this.numberText : undefined;
      if (FORBIDDEN_KEYS.has(key)) {
        this.rule(`Property name "${key}" is not allowed`);
      } else if (seen.has(key)) {
        this.rule(`Duplicate property "${key}"`);
      } else {
        seen.add(key);
        if (value === null) {
          this.fhirRule('null is not allowed as a property value in FHIR JSON');
        }
        // Plain assignment is safe: __proto__, the one key with a setter, never gets here.
        result[key] = value;
        if (text !== undefined) {
          (texts ??= {})[key] = text;
        }
      }
      this.path.pop();
      this.skipWhitespace();
      const c = this.at(this.pos);
      if (c === 0x2c) {
        this.pos++;
      } else if (c === 0x7d) {
        this.pos++;
        break;
      } else {
        this.syntax('Expected "," or "}"');
      }
    }
    this.checkNullPadding(result);
    if (texts !== undefined) {
      setDecimalTexts(result, texts);
    }
    this.depth--;
    return result;
  }

  /**
   * null may stand in an array of primitives only where the `_name` partner array has the
   * position's id or extensions, and the other way round (https://hl7.org/fhir/R4/json.html#primitive).
   */
  private checkNullPadding(object: Record<string, unknown>): void {
    for (const key of Object.keys(object)) {
      const items = object[key];
      if (!Array.isArray(items) || !items.includes(null)) {
        continue;
      }
      const partner = object[key.startsWith('_') ? key.slice(1) : `_${key}`];
      items.forEach((item, i) => {
        if (item === null && (!Array.isArray(partner) || partner[i] === null || partner[i] === undefined)) {
          this.path.push(key);
          this.fhirRule('null in an array only pads a primitive whose _element partner has an entry there', i);
          this.path.pop();
        }
      });
    }
  }

  private array(): unknown[] {
    this.enter();
    this.pos++;
    const result: unknown[] = [];
    let texts: Record<string, string> | undefined;
    this.skipWhitespace();
    if (this.at(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      this.fhirRule('Empty arrays are not allowed in FHIR JSON');
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      this.path.push(result.length);
      this.numberText = undefined;
      const value = this.value();
      result.push(value);
      if (typeof value === 'number' && this.numberText !== undefined) {
        (texts ??= {})[String(result.length - 1)] = this.numberText;
      }
      this.path.pop();
      this.skipWhitespace();
      const c = this.at(this.pos);
      if (c === 0x2c) {
        this.pos++;
      } else if (c === 0x5d) {
        this.pos++;
        break;
      } else {
        this.syntax('Expected "," or "]"');
      }
    }
    if (texts !== undefined) {
      setDecimalTexts(result, texts);
    }
    this.depth--;
    return result;
  }

  private literal<T>(word: string, value: T): T {
    if (this.bytes.toString('latin1', this.pos, this.pos + word.length) === word) {
      this.pos += word.length;
      return value;
    }
    return this.syntax('Unexpected character');
  }

  /**
   * Numbers become JS doubles, which every consumer (@medplum/core, pg) expects. Where the double's
   * rendering is not the text (1.50, 100.0, 1e2, more digits than a double holds), the text is kept
   * beside it (fhir/decimal-text.ts): https://hl7.org/fhir/R4/json.html#primitive asks servers to
   * keep a decimal's precision.
   */
  private number(): number {
    const b = this.bytes;
    let end = this.pos;
    while (end < b.length && NUMBER_BYTE[b[end] ?? 0] === 1) {
      end++;
    }
    NUMBER.lastIndex = 0;
    const match = NUMBER.exec(b.toString('latin1', this.pos, end));
    if (!match) {
      this.syntax('Invalid number');
    }
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) {
      this.syntax('Number out of range');
    }
    if (differsFromText(value, match[0])) {
      this.numberText = match[0];
    }
    return value;
  }

  private string(isKey = false): string {
    const b = this.bytes;
    const start = ++this.pos;
    let p = start;
    // Fast path: no escapes. Bytes of multi-byte characters are all >= 0x80 and pass through.
    for (;;) {
      const c = this.at(p);
      if (c === 0x22) {
        this.pos = p + 1;
        const value = b.toString('utf8', start, p);
        this.checkString(value, isKey, false);
        return value;
      }
      if (c === 0x5c || c === -1) {
        break;
      }
      if (c < 0x20) {
        this.pos = p;
        this.syntax('Control character in string');
      }
      p++;
    }
    let out = '';
    let run = start;
    for (;;) {
      const c = this.at(p);
      if (c === -1) {
        this.pos = p;
        this.syntax('Unterminated string');
      }
      if (c === 0x22) {
        break;
      }
      if (c < 0x20) {
        this.pos = p;
        this.syntax('Control character in string');
      }
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += b.toString('utf8', run, p);
      const e = this.at(p + 1);
      p += 2;
      switch (e) {
        case 0x22: // "
        case 0x5c: // \
        case 0x2f: // /
          out += String.fromCharCode(e);
          break;
        case 0x62: // b
          out += '\b';
          break;
        case 0x66: // f
          out += '\f';
          break;
        case 0x6e: // n
          out += '\n';
          break;
        case 0x72: // r
          out += '\r';
          break;
        case 0x74: {
          // t
          out += '\t';
          break;
        }
        case 0x75: {
          // u
          const hex = b.toString('latin1', p, p + 4);
          if (!HEX4.test(hex)) {
            this.pos = p;
            this.syntax('Invalid \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          p += 4;
          break;
        }
        default:
          this.pos = p - 2;
          this.syntax('Invalid escape sequence');
      }
      run = p;
    }
    out += b.toString('utf8', run, p);
    this.pos = p + 1;
    this.checkString(out, isKey, true);
    return out;
  }

  /**
   * NUL and lone surrogates can only come from \u escapes: valid UTF-8 encodes neither a
   * surrogate, and a raw NUL byte is a control character, refused above.
   */
  private checkString(value: string, isKey: boolean, escaped: boolean): void {
    if (value.length === 0) {
      if (isKey) {
        this.syntax('Empty property name');
      }
      this.fhirRule('Empty strings are not allowed in FHIR JSON');
      return;
    }
    if (!escaped) {
      return;
    }
    if (value.includes('\u0000')) {
      this.rule('NUL characters are not allowed in strings');
    }
    if (!value.isWellFormed()) {
      this.rule('String holds a lone surrogate (invalid Unicode)');
    }
  }
}

function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') {
      out += `[${part}]`;
    } else {
      out += out === '' ? part : `.${part}`;
    }
  }
  return out;
}

/** Decodes UTF-8 strictly (invalid bytes are refused, a leading BOM is dropped). */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    throw notUtf8();
  }
}

const notUtf8 = () => badRequestIssues([issue({ code: 'structure', text: 'Request body is not valid UTF-8' })]);

/**
 * The UTF-8 bytes of a body (checked, not copied), or of a text (whose lone surrogates, which
 * UTF-8 cannot carry, are refused rather than replaced).
 */
function utf8Bytes(input: string | Uint8Array): Buffer {
  if (typeof input === 'string') {
    if (!input.isWellFormed()) {
      throw badRequestIssues([issue({ code: 'structure', text: 'String holds a lone surrogate (invalid Unicode)' })]);
    }
    return Buffer.from(input, 'utf8');
  }
  if (!isUtf8(input)) {
    throw notUtf8();
  }
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Parses a FHIR JSON body (its bytes, as received) or text. Throws an OperationOutcomeError (400) on a syntax error or on any breach
 * of the FHIR JSON rules, with the JSON path of each breach as expression (rooted at resourceType).
 */
export function parseFhirJson(input: string | Uint8Array, options: JsonParseOptions): unknown {
  const parser = new StrictParser(utf8Bytes(input), options.maxDepth, options.fhirRules ?? true);
  let value: unknown;
  try {
    value = parser.parse();
  } catch (error) {
    if (error instanceof SyntaxFailure) {
      throw badRequestIssues([issue({ code: 'structure', text: `Invalid JSON: ${error.message}` })]);
    }
    throw error;
  }
  if (parser.issues.length > 0) {
    const root =
      value !== null && typeof value === 'object' && typeof (value as { resourceType?: unknown }).resourceType === 'string'
        ? (value as { resourceType: string }).resourceType
        : undefined;
    for (const i of parser.issues) {
      if (root && i.expression) {
        i.expression = i.expression.map((e) => (e === '' ? root : `${root}.${e}`));
      }
    }
    throw badRequestIssues(parser.issues);
  }
  return value;
}

const STORED_MAX_DEPTH = 10_000;

/**
 * Reads JSON text keeping the texts of its decimals (fhir/decimal-text.ts) with the strict reader,
 * without FHIR's own rules: for text that was accepted before (stored resources, definition files).
 */
export function parseJsonKeepingDecimals<T = unknown>(json: string): T {
  const parser = new StrictParser(Buffer.from(json, 'utf8'), STORED_MAX_DEPTH, false);
  try {
    const value = parser.parse();
    if (parser.issues.length === 0) {
      return value as T;
    }
  } catch (error) {
    if (!(error instanceof SyntaxFailure)) {
      throw error;
    }
  }
  // Text the strict reader refuses (a duplicate key in a file) is read as JSON.parse reads it:
  // rather a decimal's precision lost than a resource or file that can no longer be read.
  return JSON.parse(json) as T;
}

/**
 * Reads stored resource JSON. Reads are the hot path: text written by storedFhirJson with kept
 * decimals starts with a space and is read by the strict reader; all other text (most) by JSON.parse.
 */
export function parseStoredJson<T = unknown>(json: string): T {
  return json.charCodeAt(0) === 0x20 ? parseJsonKeepingDecimals<T>(json) : (JSON.parse(json) as T);
}
