/**
 * Pseudonymised export (Schakel's `schakel-pseudonymize`, for regional networks that report
 * figures nationally and need linked records, not people): the direct identifiers of a patient
 * are removed, the birth date is cut to the year, and every Patient id, in the Patient and in
 * every reference to it, becomes a keyed hash, HMAC-SHA256 over `Patient/<id>` with
 * EXPORT_PSEUDONYM_KEY: the same patient has the same pseudonym in every export with that key, so
 * files still link together, and without the key the pseudonym cannot be traced back.
 *
 * Removed: BSN identifiers (http://fhir.nl/fhir/NamingSystem/bsn) wherever they appear, every
 * identifier, name, telecom, address, photo and contact of a Patient or RelatedPerson, the
 * display text of references to a Patient, and narratives (they repeat names and addresses).
 */
import { createHmac } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { NAMING_SYSTEM } from '../auth/principal.js';

/** Resources that describe a person of the patient's circle: their identifying elements go. */
const PERSON_TYPES: ReadonlySet<string> = new Set(['Patient', 'RelatedPerson']);
const PERSON_ELEMENTS = ['identifier', 'name', 'telecom', 'address', 'photo', 'contact'] as const;
/** A Patient reference, relative or absolute, with an optional version: `[base/]Patient/<id>[/_history/<v>]`. */
const PATIENT_REFERENCE = /^(.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export class Pseudonymizer {
  constructor(private readonly key: string) {}

  /** The pseudonym of a Patient id: 64 hex characters, itself a valid FHIR id. */
  pseudonym(patientId: string): string {
    return createHmac('sha256', this.key).update(`Patient/${patientId}`).digest('hex');
  }

  /** A copy of the resource without its patient's identity. */
  pseudonymize(resource: Resource): Resource {
    const copy = this.walk(resource) as Resource & Record<string, unknown>;
    delete copy.text;
    if (PERSON_TYPES.has(resource.resourceType)) {
      for (const element of PERSON_ELEMENTS) {
        delete copy[element];
      }
    }
    if (copy.resourceType === 'Patient') {
      if (copy.id !== undefined) {
        copy.id = this.pseudonym(copy.id);
      }
      if (typeof copy.birthDate === 'string') {
        copy.birthDate = copy.birthDate.slice(0, 4);
      }
    }
    if (copy.resourceType === 'RelatedPerson' && typeof copy.birthDate === 'string') {
      copy.birthDate = copy.birthDate.slice(0, 4);
    }
    return copy;
  }

  private reference(value: string): string {
    const match = PATIENT_REFERENCE.exec(value);
    if (!match) {
      return value;
    }
    return `${match[1] ?? ''}Patient/${this.pseudonym(match[2] ?? '')}${match[3] ?? ''}`;
  }

  private walk(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.filter((item) => !isBsnIdentifier(item)).map((item) => this.walk(item));
    }
    if (typeof value !== 'object' || value === null) {
      return value;
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (isBsnIdentifier(item)) {
        continue;
      }
      out[key] = this.walk(item);
    }
    if (typeof out['reference'] === 'string') {
      const reference = out['reference'];
      out['reference'] = this.reference(reference);
      if (out['reference'] !== reference) {
        // The display of a reference to a patient is the patient's name.
        delete out['display'];
      }
    }
    if (isPatientIdentifierReference(out)) {
      delete out['display'];
    }
    return out;
  }
}

function isBsnIdentifier(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { system?: unknown }).system === NAMING_SYSTEM.bsn;
}

/** A Reference by identifier only (`type: Patient`, identifier removed as a BSN): its display names the patient. */
function isPatientIdentifierReference(value: Record<string, unknown>): boolean {
  return value['type'] === 'Patient' && 'display' in value;
}
