/**
 * What FHIR XML needs to know of each type, read from the R4 StructureDefinitions
 * (fhir/definitions.ts): the child elements of a type or backbone element in the order the
 * snapshot lists them (https://hl7.org/fhir/R4/xml.html: "elements SHALL appear in the order
 * defined"), which of them are XML attributes (`representation: xmlAttr`, i.e. Element.id and
 * Extension.url), their type codes, and the names a choice element (`value[x]`) takes.
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { isR4ResourceType, r4StructureDefinitions } from '../definitions.js';

/** Type codes whose JSON form is a number or a boolean (https://hl7.org/fhir/R4/json.html#primitive). */
const NUMBER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal']);

export type ValueKind = 'string' | 'number' | 'boolean';

export interface ElementInfo {
  /** The name without `[x]`. */
  readonly name: string;
  readonly choice: boolean;
  readonly array: boolean;
  /** Written as an XML attribute (Element.id, Extension.url) rather than a child element. */
  readonly attribute: boolean;
  readonly types: readonly string[];
  /** Where the children of a complex value are defined: a backbone path, or undefined for the type's own. */
  readonly backbone?: string;
  /** Position among its siblings in the StructureDefinition: the XML order. */
  readonly index: number;
}

/** One element name as it appears in JSON keys and XML element names, with the type it stands for. */
export interface NamedElement {
  readonly element: ElementInfo;
  readonly type: string;
}

export interface TypeLayout {
  /** Child elements in StructureDefinition order. */
  readonly elements: readonly ElementInfo[];
  /** JSON key / XML element name -> element and type (`valueQuantity` -> value[x], Quantity). */
  readonly byName: ReadonlyMap<string, NamedElement>;
}

let layouts: Map<string, TypeLayout> | undefined;

/**
 * FHIRPath system types (Resource.id, Element.id, Extension.url) are strings in both formats. An
 * element of a resource type (R4 types Bundle.entry.response.outcome as Resource, the loaded
 * definitions as OperationOutcome) is written the same way whichever: wrapped in its type's name.
 */
function typeCode(code: string): string {
  if (code.startsWith('http://hl7.org/fhirpath/System.')) {
    return 'string';
  }
  return code === 'DomainResource' || isR4ResourceType(code) ? 'Resource' : code;
}

export function choiceName(base: string, type: string): string {
  return base + type.charAt(0).toUpperCase() + type.slice(1);
}

function addStructure(sd: StructureDefinition, building: Map<string, { elements: ElementInfo[]; byName: Map<string, NamedElement> }>): void {
  const snapshot: readonly ElementDefinition[] = sd.snapshot?.element ?? [];
  const withChildren = new Set(snapshot.map((e) => e.path.slice(0, e.path.lastIndexOf('.'))).filter((p) => p !== ''));
  for (const element of snapshot) {
    const cut = element.path.lastIndexOf('.');
    if (cut === -1) {
      continue;
    }
    // Backbone elements are keyed by path (`Patient.contact`); data types and resources by type name.
    const parentPath = element.path.slice(0, cut);
    const parentKey = parentPath.includes('.') ? parentPath : sd.type;
    let layout = building.get(parentKey);
    if (!layout) {
      layout = { elements: [], byName: new Map() };
      building.set(parentKey, layout);
    }
    const raw = element.path.slice(cut + 1);
    const choice = raw.endsWith('[x]');
    const name = choice ? raw.slice(0, -3) : raw;
    const reference = element.contentReference?.startsWith('#') ? element.contentReference.slice(1) : undefined;
    const types = reference ? ['BackboneElement'] : (element.type ?? []).map((t) => typeCode(t.code));
    const backbone = reference ?? (withChildren.has(element.path) ? element.path : undefined);
    const info: ElementInfo = {
      name,
      choice,
      array: element.max !== '1' && element.max !== '0',
      attribute: (element.representation ?? []).includes('xmlAttr'),
      types,
      ...(backbone ? { backbone } : {}),
      index: layout.elements.length,
    };
    layout.elements.push(info);
    if (choice) {
      for (const type of types) {
        layout.byName.set(choiceName(name, type), { element: info, type });
      }
    } else {
      layout.byName.set(name, { element: info, type: types[0] ?? 'BackboneElement' });
    }
  }
}

function buildLayouts(): Map<string, TypeLayout> {
  const building = new Map<string, { elements: ElementInfo[]; byName: Map<string, NamedElement> }>();
  for (const sd of r4StructureDefinitions()) {
    // Profiles (SimpleQuantity, MoneyQuantity) constrain a base type without changing its layout.
    if (sd.derivation === 'constraint' || sd.kind === 'logical') {
      continue;
    }
    addStructure(sd, building);
  }
  return building;
}

/** The layout of a data type, resource type or backbone path, or undefined when R4 has none. */
export function typeLayout(key: string): TypeLayout | undefined {
  layouts ??= buildLayouts();
  return layouts.get(key);
}

/** Primitive types have a lowercase name (https://hl7.org/fhir/R4/datatypes.html); xhtml is its own kind. */
export function isPrimitiveType(type: string): boolean {
  const first = type.charCodeAt(0);
  return first >= 0x61 && first <= 0x7a && type !== 'xhtml';
}

export function valueKind(type: string): ValueKind {
  if (type === 'boolean') {
    return 'boolean';
  }
  return NUMBER_TYPES.has(type) ? 'number' : 'string';
}

/** The layout key for the children of a complex value of `type` held by `element`. */
export function childLayoutKey(element: ElementInfo, type: string): string {
  return element.backbone ?? type;
}
