/**
 * _summary and _elements (https://hl7.org/fhir/R4/search.html#summary, #elements): which top-level
 * elements of a resource to return. Summary elements are those marked isSummary in the base
 * StructureDefinition. A trimmed resource carries the SUBSETTED tag.
 */
import type { Resource } from '@medplum/fhirtypes';
import { r4StructureDefinitions } from '../fhir/definitions.js';
import { copyDecimalTexts } from '../fhir/decimal-text.js';

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = ['resourceType', 'id', 'meta'];

interface TypeElements {
  readonly summary: ReadonlySet<string>;
  readonly mandatory: ReadonlySet<string>;
}

let elementsByType: Map<string, TypeElements> | undefined;

function typeElements(type: string): TypeElements {
  if (!elementsByType) {
    elementsByType = new Map();
    for (const sd of r4StructureDefinitions()) {
      if (sd.kind !== 'resource') {
        continue;
      }
      const summary = new Set<string>();
      const mandatory = new Set<string>();
      for (const element of sd.snapshot?.element ?? []) {
        const parts = element.path.split('.');
        if (parts.length !== 2) {
          continue;
        }
        const name = (parts[1] as string).replace('[x]', '');
        if (element.isSummary) {
          summary.add(name);
        }
        if ((element.min ?? 0) > 0) {
          mandatory.add(name);
        }
      }
      elementsByType.set(sd.type, { summary, mandatory });
    }
  }
  return elementsByType.get(type) ?? { summary: new Set(), mandatory: new Set() };
}

/** `valueQuantity` belongs to the choice element `value`. */
function elementOf(key: string, names: ReadonlySet<string>): boolean {
  if (names.has(key)) {
    return true;
  }
  const choice = /^([a-z][A-Za-z]*?)[A-Z]/.exec(key)?.[1];
  return choice !== undefined && names.has(choice);
}

function keep(resource: Resource, names: ReadonlySet<string>): Resource {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.includes(key) || elementOf(key, names) || (key.startsWith('_') && elementOf(key.slice(1), names))) {
      result[key] = value;
    }
  }
  const meta = { ...(resource.meta ?? {}), tag: [...(resource.meta?.tag ?? []), SUBSETTED] };
  return { ...(copyDecimalTexts(resource, result) as unknown as Resource), meta };
}

/** The resource as _summary or _elements asks for it. */
export function shapeResource(resource: Resource, summary: SummaryMode | undefined, elements: readonly string[] | undefined): Resource {
  const { summary: summaryNames, mandatory } = typeElements(resource.resourceType);
  switch (summary) {
    case 'true':
      return keep(resource, summaryNames);
    case 'text':
      return keep(resource, new Set([...mandatory, 'text']));
    case 'data': {
      const { text: _text, ...rest } = resource as Resource & { text?: unknown };
      return keep(rest, new Set(Object.keys(rest)));
    }
    default:
      break;
  }
  if (elements !== undefined) {
    return keep(resource, new Set(elements));
  }
  return resource;
}

let summaryPaths: { summary: Set<string>; parents: Set<string> } | undefined;

function paths(): { summary: Set<string>; parents: Set<string> } {
  if (!summaryPaths) {
    const summary = new Set<string>();
    const parents = new Set<string>();
    for (const sd of r4StructureDefinitions()) {
      if (sd.kind !== 'resource') {
        continue;
      }
      for (const element of sd.snapshot?.element ?? []) {
        const path = element.path.replace('[x]', '');
        if (element.isSummary) {
          summary.add(path);
        }
        parents.add(path.slice(0, path.lastIndexOf('.')));
      }
    }
    summaryPaths = { summary, parents };
  }
  return summaryPaths;
}

function summaryNode(value: unknown, path: string): unknown {
  if (Array.isArray(value)) {
    return copyDecimalTexts(value, value.map((item) => summaryNode(item, path)));
  }
  const { summary, parents } = paths();
  // A data type's own elements (Coding, Reference...) are not in the resource's definition: kept whole.
  if (typeof value !== 'object' || value === null || !parents.has(path)) {
    return value;
  }
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    const choice = /^([a-z][A-Za-z]*?)[A-Z]/.exec(name)?.[1];
    const at = summary.has(`${path}.${name}`) ? `${path}.${name}` : choice !== undefined && summary.has(`${path}.${choice}`) ? `${path}.${choice}` : undefined;
    if (at !== undefined) {
      result[key] = summaryNode(child, at);
    }
  }
  return copyDecimalTexts(value, result);
}

/**
 * _summary=true at every depth: the elements marked isSummary in the base definition, also inside
 * backbone elements (CapabilityStatement.rest.resource keeps type and profile, not its
 * interactions and search parameters). Used where one large resource is answered on its own.
 */
export function deepSummary(resource: Resource): Resource {
  const kept = summaryNode(resource, resource.resourceType) as Resource;
  return { ...kept, resourceType: resource.resourceType, meta: { ...(resource.meta ?? {}), tag: [...(resource.meta?.tag ?? []), SUBSETTED] } } as Resource;
}
