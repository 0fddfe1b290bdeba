/** Reading the current version of a resource a referral points at, inside the write's transaction. */
import type { Reference, Resource } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import type { Repository } from '../../repository/repository.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

export function parsed<T>(json: string | undefined): T | undefined {
  return json === undefined ? undefined : parseStoredJson<T>(json);
}

/** `Type/id` of a reference to a resource on this server; undefined for anything else. */
export function localKey(reference: Reference | undefined, baseUrl: string | undefined): string | undefined {
  const local = reference?.reference === undefined ? undefined : parseLocalReference(reference.reference, baseUrl);
  return local && `${local.resourceType}/${local.id}`;
}

/** The current, not deleted, version of a local reference of type `type`. */
export async function readLocal<T extends Resource>(repo: Repository, reference: string | undefined, type: T['resourceType'], baseUrl: string | undefined): Promise<T | undefined> {
  const local = reference === undefined ? undefined : parseLocalReference(reference, baseUrl);
  if (local?.resourceType !== type) {
    return undefined;
  }
  const current = await repo.readCurrent(type, local.id);
  return current && !current.deleted ? parsed<T>(current.json) : undefined;
}
