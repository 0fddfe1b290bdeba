/**
 * FHIR JSON -> FHIR XML (https://hl7.org/fhir/R4/xml.html), driven by the R4 StructureDefinitions
 * (element-order.ts): elements in definition order, primitives as `value` attributes with their
 * `_name` sibling (id, extensions) merged in, Element.id and Extension.url as attributes, resources
 * in `contained` and `Bundle.entry.resource` wrapped in an element named for their type, and the
 * narrative div written as the XHTML it is.
 */
import { childLayoutKey, isPrimitiveType, typeLayout, type ElementInfo, type NamedElement, type TypeLayout } from './element-order.js';
import { withXhtmlNamespace } from './narrative-div.js';
import { FHIR_NS } from './read-xml.js';
import { decimalTextOf } from '../decimal-text.js';

type Json = Record<string, unknown>;

/** A JSON value that has no FHIR XML form: a key R4 does not define, or a value of the wrong shape. */
export class XmlSerialiseError extends Error {
  override readonly name = 'XmlSerialiseError';
}

export interface XmlSerialiseOptions {
  readonly pretty?: boolean;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // Attribute-value normalisation (XML 1.0 section 3.3.3) turns literal whitespace into spaces.
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\n\r\t]/g, (c) => ESCAPES[c] ?? c);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function lexical(value: unknown, path: string): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw new XmlSerialiseError(`${path} is not a primitive value`);
}

/**
 * A decimal as written (fhir/decimal-text.ts): the number's kept text in its place, which lexical()
 * then writes as it stands. A repeating element's numbers are looked up in their array.
 */
function asWritten(json: Json, key: string): unknown {
  const value = json[key];
  if (typeof value === 'number') {
    return decimalTextOf(json, key) ?? value;
  }
  if (Array.isArray(value) && value.some((item) => typeof item === 'number')) {
    return value.map((item: unknown, i) => (typeof item === 'number' ? (decimalTextOf(value, i) ?? item) : item));
  }
  return value;
}

class XmlWriter {
  private readonly out: string[] = [];

  constructor(private readonly pretty: boolean) {}

  private line(depth: number, text: string): void {
    this.out.push(this.pretty ? `${'  '.repeat(depth)}${text}\n` : text);
  }

  text(): string {
    return this.out.join('');
  }

  resource(resource: unknown, depth: number, path: string): void {
    if (!isObject(resource) || typeof resource['resourceType'] !== 'string') {
      throw new XmlSerialiseError(`${path} is not a resource`);
    }
    const type = resource['resourceType'];
    const layout = typeLayout(type);
    if (!layout) {
      throw new XmlSerialiseError(`${type} is not an R4 resource type`);
    }
    const namespace = depth === 0 ? ` xmlns="${FHIR_NS}"` : '';
    this.line(depth, `<${type}${namespace}>`);
    this.children(resource, layout, depth + 1, type, true);
    this.line(depth, `</${type}>`);
  }

  /**
   * Writes the elements of `json` in definition order. The JSON keys are looked up and sorted
   * rather than the layout walked: a layout can be long (Extension.value[x] has 50 names) while an
   * object holds a few keys.
   */
  private children(json: Json, layout: TypeLayout, depth: number, path: string, isResource: boolean): void {
    const present: Array<{ key: string; named: NamedElement }> = [];
    for (const key of Object.keys(json)) {
      if (isResource && key === 'resourceType') {
        continue;
      }
      const underscore = key.charCodeAt(0) === 0x5f;
      const name = underscore ? key.slice(1) : key;
      const named = layout.byName.get(name);
      if (!named) {
        throw new XmlSerialiseError(`${path}.${key} is not an element of R4`);
      }
      // `name` and `_name` are written together, once; an `_name` alone stands for itself.
      if (named.element.attribute || (underscore && name in json)) {
        continue;
      }
      present.push({ key: name, named });
    }
    if (present.length > 1) {
      present.sort((a, b) => a.named.element.index - b.named.element.index);
    }
    for (const { key, named } of present) {
      this.element(key, asWritten(json, key), json[`_${key}`], named.element, named.type, depth, path);
    }
  }

  private element(key: string, value: unknown, extra: unknown, element: ElementInfo, type: string, depth: number, parentPath: string): void {
    if (value === undefined && extra === undefined) {
      return;
    }
    const path = `${parentPath}.${key}`;
    if (isPrimitiveType(type)) {
      this.primitives(key, asList(value), asList(extra), depth, path);
      return;
    }
    if (extra !== undefined) {
      throw new XmlSerialiseError(`${path} is not a primitive and has no _${key}`);
    }
    for (const item of asList(value)) {
      if (type === 'xhtml') {
        const div = withXhtmlNamespace(lexical(item, path));
        this.out.push(this.pretty ? `${'  '.repeat(depth)}${div}\n` : div);
      } else if (type === 'Resource') {
        this.line(depth, `<${key}>`);
        this.resource(item, depth + 1, path);
        this.line(depth, `</${key}>`);
      } else {
        this.complex(key, item, element, type, depth, path);
      }
    }
  }

  private complex(key: string, item: unknown, element: ElementInfo, type: string, depth: number, path: string): void {
    const layout = typeLayout(childLayoutKey(element, type));
    if (!layout || !isObject(item)) {
      throw new XmlSerialiseError(`${path} is not a ${type}`);
    }
    let attributes = '';
    for (const attribute of layout.elements) {
      const value = attribute.attribute ? item[attribute.name] : undefined;
      if (value !== undefined) {
        attributes += ` ${attribute.name}="${escapeAttribute(lexical(value, `${path}.${attribute.name}`))}"`;
      }
    }
    let hasChildren = false;
    for (const k in item) {
      if (layout.byName.get(k.charCodeAt(0) === 0x5f ? k.slice(1) : k)?.element.attribute !== true) {
        hasChildren = true;
        break;
      }
    }
    if (!hasChildren) {
      this.line(depth, `<${key}${attributes}/>`);
      return;
    }
    this.line(depth, `<${key}${attributes}>`);
    this.children(item, layout, depth + 1, path, false);
    this.line(depth, `</${key}>`);
  }

  /** `name` and `_name` side by side (https://hl7.org/fhir/R4/json.html#primitive), merged into one element each. */
  private primitives(key: string, values: unknown[], extras: unknown[], depth: number, path: string): void {
    const count = Math.max(values.length, extras.length);
    const elementLayout = typeLayout('Element');
    for (let i = 0; i < count; i++) {
      const value = values[i] ?? null;
      const extra = extras[i] ?? null;
      if (value === null && extra === null) {
        continue;
      }
      if (extra !== null && !isObject(extra)) {
        throw new XmlSerialiseError(`${path}: _${key} is not an object`);
      }
      let attributes = '';
      if (extra !== null && extra['id'] !== undefined) {
        attributes += ` id="${escapeAttribute(lexical(extra['id'], `${path}.id`))}"`;
      }
      if (value !== null) {
        attributes += ` value="${escapeAttribute(lexical(value, path))}"`;
      }
      const extensions = extra === null ? undefined : extra['extension'];
      if (extensions === undefined || !elementLayout) {
        if (extra !== null && Object.keys(extra).some((k) => k !== 'id')) {
          throw new XmlSerialiseError(`${path}: _${key} holds more than id and extension`);
        }
        this.line(depth, `<${key}${attributes}/>`);
        continue;
      }
      this.line(depth, `<${key}${attributes}>`);
      this.children(extra as Json, elementLayout, depth + 1, path, false);
      this.line(depth, `</${key}>`);
    }
  }
}

/**
 * Serialises a FHIR JSON resource as FHIR XML. Throws XmlSerialiseError when the resource holds
 * something R4 does not define (the JSON reader and validation keep such content out of storage).
 */
export function serialiseFhirXml(resource: unknown, options: XmlSerialiseOptions = {}): string {
  const writer = new XmlWriter(options.pretty ?? false);
  writer.resource(resource, 0, '');
  return writer.text();
}
