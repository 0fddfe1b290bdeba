/**
 * Clinical resource types: the types of the Patient compartment
 * (https://hl7.org/fhir/R4/compartmentdefinition-patient.html) and Patient itself. A user never
 * deletes one (status entered-in-error instead; docs/security.md), so the record keeps what was known.
 */
import { readDefinitionJson } from '../fhir/definitions-json.js';
import type { CompartmentDefinition } from '@medplum/fhirtypes';

let types: Set<string> | undefined;

export function isClinicalType(type: string): boolean {
  if (!types) {
    const patient = readDefinitionJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    types = new Set(['Patient', ...(patient.resource ?? []).filter((r) => (r.param ?? []).length > 0).map((r) => r.code)]);
  }
  return types.has(type);
}
