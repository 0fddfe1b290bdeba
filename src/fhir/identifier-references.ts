/**
 * References by identifier (https://hl7.org/fhir/R4/references.html#logical): a Reference with an
 * `identifier` and no `reference`, as the Shared Care Planning examples name a patient by BSN or a
 * professional by UZI. This module finds them in a resource and says which resource types each may
 * point at on this server; repository/identifier-references.ts looks the identifier up.
 *
 * The target type comes from, in order: the reference's `type`; the identifier system (a BSN names
 * a Patient, a UZI number a Practitioner, a URA number an Organization, an AGB code a professional
 * or a care provider); the types the element allows. Only Patient, Practitioner, PractitionerRole
 * and Organization are resolved: they carry the identifiers care relations and narrowing depend on.
 * A reference whose type none of these settle (an MRN in Task.for, which allows any resource) stays
 * a purely logical reference.
 */
import { getElementDefinition } from '@medplum/core';
import type { Identifier, Reference, Resource } from '@medplum/fhirtypes';
import { BSN_SYSTEM } from './bsn.js';

export const RESOLVABLE_TYPES: readonly string[] = ['Patient', 'Practitioner', 'PractitionerRole', 'Organization'];

/** What a well-known Dutch identifier system can name (nl-core NamingSystems). */
const SYSTEM_TYPES: Readonly<Record<string, readonly string[]>> = {
  [BSN_SYSTEM]: ['Patient'],
  'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers': ['Practitioner'],
  'http://fhir.nl/fhir/NamingSystem/big': ['Practitioner'],
  'http://fhir.nl/fhir/NamingSystem/ura': ['Organization'],
  'http://fhir.nl/fhir/NamingSystem/agb-z': ['Practitioner', 'PractitionerRole', 'Organization'],
};

const BASE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';

export interface IdentifierReference {
  /** The Reference object inside the resource (the caller may fill in a copy's `reference`). */
  readonly reference: Reference;
  readonly identifier: Identifier & { value: string };
  /** JSON path of the Reference, e.g. `Task.for`. */
  readonly path: string;
  /** Resource types it may name on this server, never empty. */
  readonly types: readonly string[];
}

/** Resource types an element allows, or undefined for any (Reference(Any), unknown elements). */
function elementTargets(parentType: string | undefined, key: string): readonly string[] | undefined {
  if (parentType === undefined) {
    return undefined;
  }
  const element = getElementDefinition(parentType, key);
  const profiles = element?.type.find((t) => t.code === 'Reference')?.targetProfile;
  if (!profiles || profiles.some((p) => !p.startsWith(BASE_PROFILE) || p === `${BASE_PROFILE}Resource`)) {
    return undefined;
  }
  return profiles.map((p) => p.slice(BASE_PROFILE.length));
}

function childType(parentType: string | undefined, key: string): string | undefined {
  if (parentType === undefined) {
    return undefined;
  }
  const element = getElementDefinition(parentType, key);
  if (element === undefined || element.type.length <= 1) {
    return element?.type[0]?.code;
  }
  // A choice element (`Extension.valueReference`): the name's suffix says which type it holds.
  const base = element.path.slice(element.path.lastIndexOf('.') + 1).replace('[x]', '');
  const suffix = key.slice(base.length).toLowerCase();
  return element.type.find((t) => t.code.toLowerCase() === suffix)?.code;
}

function candidateTypes(reference: Reference, allowed: readonly string[] | undefined): string[] {
  if (reference.type !== undefined) {
    return RESOLVABLE_TYPES.includes(reference.type) ? [reference.type] : [];
  }
  const bySystem = reference.identifier?.system === undefined ? undefined : SYSTEM_TYPES[reference.identifier.system];
  if (bySystem) {
    return bySystem.filter((t) => allowed === undefined || allowed.includes(t));
  }
  // Without a type or a known system only an element that allows exactly one of them settles it.
  const resolvable = (allowed ?? []).filter((t) => RESOLVABLE_TYPES.includes(t));
  return resolvable.length === 1 ? resolvable : [];
}

type IdentifierOnly = Reference & { identifier: Identifier & { value: string } };

function isIdentifierOnly(value: object): value is IdentifierOnly {
  const { reference, identifier } = value as Reference;
  return reference === undefined && typeof identifier === 'object' && typeof identifier.value === 'string';
}

function walk(value: unknown, type: string | undefined, allowed: readonly string[] | undefined, path: string, out: IdentifierReference[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, type, allowed, `${path}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object') {
    return;
  }
  const record = value as Record<string, unknown>;
  const ownType = typeof record.resourceType === 'string' ? record.resourceType : type;
  if (ownType === 'Reference' && isIdentifierOnly(record)) {
    const types = candidateTypes(record, allowed);
    if (types.length > 0) {
      out.push({ reference: record, identifier: record.identifier, path, types });
    }
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    if (typeof child === 'object' && child !== null) {
      walk(child, childType(ownType, key), elementTargets(ownType, key), `${path}.${key}`, out);
    }
  }
}

/**
 * The references by identifier of a resource that this server resolves. References inside a stored
 * Bundle's entries belong to those documents, not to the Bundle (as repository/references.ts).
 */
export function identifierReferences(resource: Resource): IdentifierReference[] {
  const out: IdentifierReference[] = [];
  if (resource.resourceType === 'Bundle') {
    return out;
  }
  walk(resource, resource.resourceType, undefined, resource.resourceType, out);
  return out;
}
