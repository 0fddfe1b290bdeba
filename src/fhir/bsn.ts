/**
 * The Dutch citizen service number (burgerservicenummer, BSN) as FHIR carries it: an Identifier
 * with system http://fhir.nl/fhir/NamingSystem/bsn (nl-core-Patient). A BSN is nine digits that
 * pass the eleven-test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11 (the same rule as the
 * Referral profile's sch-ref-2, profiles/referral.json).
 */
import type { Identifier, Resource } from '@medplum/fhirtypes';

export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';

/** Whether a value is nine digits that pass the eleven-test. */
export function passesElevenTest(value: string): boolean {
  if (!/^\d{9}$/.test(value)) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    sum += Number(value[i]) * (9 - i);
  }
  sum -= Number(value[8]);
  return sum % 11 === 0;
}

/** Every Identifier with the BSN system anywhere in a value, with its path (`Patient.identifier[0]`). */
export function bsnIdentifiers(value: unknown, path: string, out: Array<{ identifier: Identifier; path: string }> = []) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => bsnIdentifiers(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record.system === BSN_SYSTEM && !('resourceType' in record)) {
      out.push({ identifier: record, path });
    }
    for (const [key, child] of Object.entries(record)) {
      if (typeof child === 'object' && child !== null) {
        bsnIdentifiers(child, `${path}.${key}`, out);
      }
    }
  }
  return out;
}

/** The BSNs a Patient carries (its own identifiers only, not those of contained resources). */
export function patientBsns(resource: Resource): string[] {
  if (resource.resourceType !== 'Patient') {
    return [];
  }
  const values = (resource.identifier ?? []).filter((i) => i.system === BSN_SYSTEM && typeof i.value === 'string').map((i) => i.value as string);
  return [...new Set(values)];
}
