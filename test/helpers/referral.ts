/**
 * A referral as an EHR sends it (docs/care-workflows.md, section 1): Patient, ServiceRequest and Task, linked by
 * urn:uuid fullUrls. The Task comes first so its links are forward references.
 */
export const PATIENT_URN = 'urn:uuid:6b1f0c52-0f6e-4a8e-9d0b-2f3a1c4d5e60';
export const REFERRAL_URN = 'urn:uuid:0f9a4c1e-7d2b-4c6f-8a1e-3b5d7f9e1a20';
export const TASK_URN = 'urn:uuid:c3d2e1f0-1a2b-4c3d-9e8f-7a6b5c4d3e21';

export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';

export function referralPatient(bsn = '999911120') {
  return {
    resourceType: 'Patient',
    identifier: [
      { system: BSN_SYSTEM, value: bsn },
      // A string element that happens to hold the fullUrl: never rewritten (http.html#trules).
      { system: 'urn:ietf:rfc:3986', value: PATIENT_URN },
    ],
    name: [{ family: 'Jansen', given: ['Anna'] }],
    gender: 'female',
    birthDate: '1948-05-12',
  };
}

export function referralBundle(options: { bsn?: string; taskStatus?: string } = {}) {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: TASK_URN,
        resource: {
          resourceType: 'Task',
          status: options.taskStatus ?? 'requested',
          intent: 'order',
          focus: { reference: REFERRAL_URN },
          for: { reference: PATIENT_URN },
          description: 'Verwijzing fysiotherapie',
        },
        request: { method: 'POST', url: 'Task' },
      },
      {
        fullUrl: REFERRAL_URN,
        resource: {
          resourceType: 'ServiceRequest',
          status: 'active',
          intent: 'order',
          subject: { reference: PATIENT_URN },
          text: {
            status: 'generated',
            div: `<div xmlns="http://www.w3.org/1999/xhtml">Verwijzing voor <a href="${PATIENT_URN}">patiënt</a></div>`,
          },
          contained: [{ resourceType: 'Condition', id: 'reden', subject: { reference: PATIENT_URN }, code: { text: 'Lage rugpijn' } }],
          reasonReference: [{ reference: '#reden' }],
          extension: [
            { url: 'http://example.org/fhir/StructureDefinition/referral-patient', valueReference: { reference: PATIENT_URN } },
            { url: 'http://example.org/fhir/StructureDefinition/referral-source', valueUri: PATIENT_URN },
          ],
          code: { text: 'Fysiotherapie' },
        },
        request: { method: 'POST', url: 'ServiceRequest' },
      },
      {
        fullUrl: PATIENT_URN,
        resource: referralPatient(options.bsn),
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  };
}

let bsnCounter = 0;

/**
 * A fresh synthetic BSN (99997xxxx, passing the eleven-test) for each call: at most one active
 * Patient holds a BSN, so tests that register several patients need one each.
 */
export function uniqueBsn(): string {
  for (;;) {
    bsnCounter += 1;
    // 99997xxxx: a range no fixture or test writes by hand, so a fresh number never meets a fixed one.
    const digits = `99997${String((process.pid * 7 + bsnCounter) % 10_000).padStart(4, '0')}`;
    const sum = [...digits].reduce((total, d, i) => total + Number(d) * (i === 8 ? -1 : 9 - i), 0);
    if (sum % 11 === 0) {
      return digits;
    }
  }
}

/** The resource with each BSN identifier given a fresh number (uniqueBsn), for repeated creates. */
export function withUniqueBsn<T>(resource: T): T {
  if (typeof resource !== 'object' || resource === null || !('identifier' in resource) || !Array.isArray(resource.identifier)) {
    return resource;
  }
  const identifier = (resource.identifier as Array<{ system?: string; value?: string }>).map((i) => (i.system === BSN_SYSTEM ? { ...i, value: uniqueBsn() } : i));
  return { ...resource, identifier };
}
