/**
 * FHIR XML -> FHIR JSON (https://hl7.org/fhir/R4/xml.html and json.html), driven by the R4
 * StructureDefinitions (element-order.ts). Every breach of the format (wrong namespace, unknown
 * element or attribute, a repeated single element, text where FHIR has none, a malformed number or
 * boolean) is collected with its path and refused together as one 400, as the JSON reader does.
 * Decimals become JS numbers, as in the JSON reader (json-parse.ts explains why).
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../definitions.js';
import { badRequestIssues, issue } from '../outcomes.js';
import { differsFromText, keepDecimalText, setDecimalTexts } from '../decimal-text.js';
import { childLayoutKey, isPrimitiveType, typeLayout, valueKind, type NamedElement, type TypeLayout } from './element-order.js';
import { withXhtmlNamespace } from './narrative-div.js';
import { FHIR_NS, readXml, XHTML_NS, XmlSyntaxError, type XmlElement } from './read-xml.js';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export interface XmlParseOptions {
  readonly maxDepth: number;
}

type Json = Record<string, unknown>;

/** Values of one JSON key while its XML elements are read: the primitive values and their `_` siblings. */
interface Collected {
  readonly named: NamedElement;
  readonly values: unknown[];
  readonly extras: Array<Json | null>;
  /** Texts of decimals whose JS rendering differs, by position (fhir/decimal-text.ts). */
  texts?: Record<string, string>;
}

class XmlToJson {
  readonly issues: OperationOutcomeIssue[] = [];

  private fail(path: string, text: string, code: 'structure' | 'value' | 'not-supported' = 'structure'): void {
    this.issues.push(issue({ code, text, expression: path }));
  }

  /** Attributes FHIR allows on an element: `allowed` plus schema hints (xsi:schemaLocation). */
  private checkAttributes(element: XmlElement, allowed: readonly string[], path: string): void {
    for (const attribute of element.attributes) {
      if (attribute.uri === XSI_NS) {
        continue;
      }
      if (attribute.uri !== '' || !allowed.includes(attribute.local)) {
        this.fail(path, `Unknown attribute ${attribute.local} on ${element.local}`);
      }
    }
  }

  private attribute(element: XmlElement, name: string): string | undefined {
    return element.attributes.find((a) => a.local === name && a.uri === '')?.value;
  }

  resource(element: XmlElement, path: string): Json | undefined {
    const here = path === '' ? element.local : path;
    if (element.uri !== FHIR_NS) {
      this.fail(here, `Element ${element.local} is not in the FHIR namespace ${FHIR_NS}`);
      return undefined;
    }
    if (!isR4ResourceType(element.local)) {
      this.fail(here, `${element.local} is not an R4 resource type`);
      return undefined;
    }
    this.checkAttributes(element, [], here);
    const layout = typeLayout(element.local);
    const json: Json = { resourceType: element.local };
    if (layout) {
      this.children(element, layout, json, here);
    }
    return json;
  }

  private children(element: XmlElement, layout: TypeLayout, out: Json, path: string): void {
    if (element.hasText) {
      this.fail(path, `Text content is not allowed in ${element.local}`);
    }
    const collected = new Map<string, Collected>();
    const choicesTaken = new Map<string, string>();
    for (const child of element.children) {
      const childPath = `${path}.${child.local}`;
      if (child.uri !== FHIR_NS && !(child.uri === XHTML_NS && child.local === 'div')) {
        this.fail(childPath, `Element ${child.local} is not in the FHIR namespace ${FHIR_NS}`);
        continue;
      }
      const named = layout.byName.get(child.local);
      if (!named || named.element.attribute) {
        this.fail(childPath, `Unknown element ${child.local}`);
        continue;
      }
      const { element: info } = named;
      if (info.choice) {
        const taken = choicesTaken.get(info.name);
        if (taken !== undefined && taken !== child.local) {
          this.fail(childPath, `${info.name}[x] is given twice (${taken}, ${child.local})`);
          continue;
        }
        choicesTaken.set(info.name, child.local);
      }
      let entry = collected.get(child.local);
      if (entry && !info.array) {
        this.fail(childPath, `${child.local} may occur only once`);
        continue;
      }
      if (!entry) {
        entry = { named, values: [], extras: [] };
        collected.set(child.local, entry);
      }
      this.value(child, named, entry, childPath);
    }
    for (const [key, entry] of collected) {
      const array = entry.named.element.array;
      if (entry.values.some((v) => v !== null)) {
        out[key] = array ? entry.values : entry.values[0];
        if (entry.texts !== undefined) {
          if (array) {
            setDecimalTexts(entry.values, entry.texts);
          } else {
            keepDecimalText(out, key, entry.texts['0']);
          }
        }
      }
      if (entry.extras.some((x) => x !== null)) {
        out[`_${key}`] = array ? entry.extras : entry.extras[0];
      }
    }
  }

  private value(child: XmlElement, named: NamedElement, entry: Collected, path: string): void {
    const { type } = named;
    if (type === 'xhtml') {
      this.xhtml(child, entry, path);
    } else if (isPrimitiveType(type)) {
      this.primitive(child, type, entry, path);
    } else if (type === 'Resource') {
      this.checkAttributes(child, [], path);
      const inner = child.children;
      if (inner.length !== 1 || child.hasText || !inner[0]) {
        this.fail(path, `${child.local} must hold exactly one resource`);
        return;
      }
      const resource = this.resource(inner[0], path);
      if (resource) {
        entry.values.push(resource);
        entry.extras.push(null);
      }
    } else {
      const layout = typeLayout(childLayoutKey(named.element, type));
      if (!layout) {
        this.fail(path, `No definition for the type ${type}`, 'not-supported');
        return;
      }
      const attributes = layout.elements.filter((e) => e.attribute).map((e) => e.name);
      this.checkAttributes(child, attributes, path);
      const json: Json = {};
      const before = this.issues.length;
      for (const name of attributes) {
        const value = this.attribute(child, name);
        if (value !== undefined) {
          json[name] = value;
        }
      }
      this.children(child, layout, json, path);
      // An element whose content was refused already is not reported empty as well.
      if (Object.keys(json).length === 0 && this.issues.length === before) {
        this.fail(path, `${child.local} is empty; FHIR elements must have a value or children`);
        return;
      }
      entry.values.push(json);
      entry.extras.push(null);
    }
  }

  private primitive(child: XmlElement, type: string, entry: Collected, path: string): void {
    const before = this.issues.length;
    this.checkAttributes(child, ['id', 'value'], path);
    const raw = this.attribute(child, 'value');
    const id = this.attribute(child, 'id');
    const extra: Json = {};
    if (id !== undefined) {
      extra['id'] = id;
    }
    const extensionLayout = typeLayout('Element');
    if (extensionLayout) {
      this.children(child, extensionLayout, extra, path);
    }
    let value: unknown = null;
    if (raw !== undefined) {
      value = this.primitiveValue(raw, type, path);
    }
    if (raw === undefined && Object.keys(extra).length === 0) {
      if (this.issues.length === before) {
        this.fail(path, `${child.local} has neither a value nor extensions`);
      }
      return;
    }
    if (typeof value === 'number' && raw !== undefined && differsFromText(value, raw)) {
      (entry.texts ??= {})[String(entry.values.length)] = raw;
    }
    entry.values.push(value);
    entry.extras.push(Object.keys(extra).length > 0 ? extra : null);
  }

  private primitiveValue(raw: string, type: string, path: string): unknown {
    if (raw === '') {
      this.fail(path, 'A value attribute must not be empty', 'value');
      return null;
    }
    switch (valueKind(type)) {
      case 'boolean':
        if (raw !== 'true' && raw !== 'false') {
          this.fail(path, `${raw} is not a boolean`, 'value');
          return null;
        }
        return raw === 'true';
      case 'number': {
        const number = Number(raw);
        if (!(type === 'decimal' ? DECIMAL : INTEGER).test(raw) || !Number.isFinite(number)) {
          this.fail(path, `${raw} is not a valid ${type}`, 'value');
          return null;
        }
        return number;
      }
      case 'string':
        return raw;
    }
  }

  private xhtml(child: XmlElement, entry: Collected, path: string): void {
    if (child.uri !== XHTML_NS || child.local !== 'div' || child.raw === undefined) {
      this.fail(path, `The narrative must be an XHTML div in the namespace ${XHTML_NS}`);
      return;
    }
    if (child.prefix !== '') {
      this.fail(path, 'The narrative div must use the default namespace (no prefix)', 'not-supported');
      return;
    }
    entry.values.push(withXhtmlNamespace(child.raw));
    entry.extras.push(null);
  }
}

/**
 * Parses a FHIR XML resource into its FHIR JSON form. Throws an OperationOutcomeError (400) when
 * the text is not well-formed XML, declares a DOCTYPE, or breaks the FHIR XML rules.
 */
export function parseFhirXml(text: string, options: XmlParseOptions): Json {
  let root: XmlElement;
  try {
    root = readXml(text, { maxDepth: options.maxDepth });
  } catch (error) {
    if (error instanceof XmlSyntaxError) {
      throw badRequestIssues([issue({ code: 'structure', text: `Invalid XML: ${error.message}` })]);
    }
    throw error;
  }
  const reader = new XmlToJson();
  const resource = reader.resource(root, '');
  if (!resource || reader.issues.length > 0) {
    throw badRequestIssues(reader.issues);
  }
  return resource;
}
