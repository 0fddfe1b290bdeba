/**
 * Strict parser for FHIR JSON bodies, per https://hl7.org/fhir/R4/json.html: JSON.parse accepts
 * what FHIR forbids (duplicate keys, nulls, empty values), so bodies are parsed here instead.
 * Syntax errors stop at once; FHIR rule breaches are all collected with their paths.
 * Keys that could poison prototypes are refused, as Fastify's own JSON parser does.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badRequestIssues, issue } from './outcomes.js';

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
/** RFC 8259 number grammar, matched in place (sticky) without copying the text. */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

class SyntaxFailure extends Error {}

type PathPart = string | number;

class StrictParser {
  private pos = 0;
  private depth = 0;
  private readonly path: PathPart[] = [];
  readonly issues: OperationOutcomeIssue[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly fhirRules: boolean
  ) {}

  parse(): unknown {
    this.skipWhitespace();
    const value = this.value();
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      this.syntax('Unexpected content after the JSON value');
    }
    return value;
  }

  private syntax(message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    const column = this.pos - before.lastIndexOf('\n');
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
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        p++;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  private value(): unknown {
    const c = this.text.charCodeAt(this.pos);
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
        return this.syntax(Number.isNaN(c) ? 'Unexpected end of JSON' : 'Unexpected character');
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
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      this.fhirRule('Empty objects are not allowed in FHIR JSON');
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) {
        this.syntax('Expected a property name');
      }
      const key = this.string(true);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) {
        this.syntax('Expected ":" after a property name');
      }
      this.pos++;
      this.skipWhitespace();
      this.path.push(key);
      const value = this.value();
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
      }
      this.path.pop();
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
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
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      this.fhirRule('Empty arrays are not allowed in FHIR JSON');
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      this.path.push(result.length);
      result.push(this.value());
      this.path.pop();
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
      } else if (c === 0x5d) {
        this.pos++;
        break;
      } else {
        this.syntax('Expected "," or "]"');
      }
    }
    this.depth--;
    return result;
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    return this.syntax('Unexpected character');
  }

  /**
   * Numbers become JS doubles: a decimal's precision as written (1.50 vs 1.5) is lost, and so are
   * digits beyond ~17 significant ones (https://hl7.org/fhir/R4/json.html#primitive asks servers to
   * keep them). Documented, not worked around: every consumer (@medplum/core, pg) uses doubles.
   */
  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) {
      this.syntax('Invalid number');
    }
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) {
      this.syntax('Number out of range');
    }
    return value;
  }

  private string(isKey = false): string {
    const t = this.text;
    const start = ++this.pos;
    let p = start;
    // Fast path: no escapes.
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.pos = p + 1;
        const value = t.slice(start, p);
        this.checkString(value, isKey);
        return value;
      }
      if (c === 0x5c || Number.isNaN(c)) {
        break;
      }
      if (c < 0x20) {
        this.pos = p;
        this.syntax('Control character in string');
      }
      p++;
    }
    let out = t.slice(start, p);
    for (;;) {
      const c = t.charCodeAt(p);
      if (Number.isNaN(c)) {
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
        out += t[p];
        p++;
        continue;
      }
      const e = t[p + 1];
      p += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = t.slice(p, p + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
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
    }
    this.pos = p + 1;
    this.checkString(out, isKey);
    return out;
  }

  private checkString(value: string, isKey: boolean): void {
    if (value.length === 0) {
      if (isKey) {
        this.syntax('Empty property name');
      }
      this.fhirRule('Empty strings are not allowed in FHIR JSON');
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
    throw badRequestIssues([issue({ code: 'structure', text: 'Request body is not valid UTF-8' })]);
  }
}

/**
 * Parses a FHIR JSON text. Throws an OperationOutcomeError (400) on a syntax error or on any breach
 * of the FHIR JSON rules, with the JSON path of each breach as expression (rooted at resourceType).
 */
export function parseFhirJson(text: string, options: JsonParseOptions): unknown {
  const parser = new StrictParser(text, options.maxDepth, options.fhirRules ?? true);
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
