/**
 * Compartment search (https://hl7.org/fhir/R4/compartmentdefinition.html): `Patient/{id}/{type}`
 * finds resources of type that refer to the patient through one of the parameters the Patient
 * CompartmentDefinition lists for that type (compartmentdefinition-patient.json). The patient
 * itself is in its own compartment.
 */
import { readDefinitionJson } from '../fhir/definitions-json.js';
import type { CompartmentDefinition } from '@medplum/fhirtypes';
import { notSupported } from '../fhir/outcomes.js';
import { searchParam } from './parameters.js';
import { or, type Scope, type SqlContext } from './sql/context.js';

let definitions: Map<string, Map<string, readonly string[]>> | undefined;

function compartments(): Map<string, Map<string, readonly string[]>> {
  if (!definitions) {
    definitions = new Map();
    const patient = readDefinitionJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    const byType = new Map<string, readonly string[]>();
    for (const entry of patient.resource ?? []) {
      const params = (entry.param ?? []).filter((code) => searchParam(entry.code, code)?.type === 'reference');
      if (params.length > 0) {
        byType.set(entry.code, params);
      }
    }
    definitions.set(patient.code, byType);
  }
  return definitions;
}

/** The reference parameters that put a resource of `type` in the compartment; 400 when none. */
export function compartmentParams(compartmentType: string, type: string): readonly string[] {
  const params = compartments().get(compartmentType)?.get(type);
  if (!params) {
    throw notSupported(`${type} is not part of the ${compartmentType} compartment`);
  }
  return params;
}

/** The condition that a resource of the scope is in the compartment of `compartmentType/id`. */
export function compartmentSql(ctx: SqlContext, scope: Scope, compartment: { resourceType: string; id: string }, type: string): string {
  const params = compartmentParams(compartment.resourceType, type);
  const bind = (value: unknown): string => ctx.params.bind(value);
  const x = ctx.params.alias('x');
  const conditions = [
    `${scope.alias}.sid IN (SELECT ${x}.sid FROM search_reference ${x} WHERE ${x}.resource_type = ${bind(type)}
       AND ${x}.param = ANY(${bind(params)}::text[]) AND ${x}.target_id = ${bind(compartment.id)} AND ${x}.target_type = ${bind(compartment.resourceType)})`,
  ];
  if (type === compartment.resourceType) {
    conditions.push(`${scope.alias}.id = ${bind(compartment.id)}`);
  }
  return or(conditions);
}
