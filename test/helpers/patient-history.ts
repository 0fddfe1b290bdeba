/**
 * A synthetic patient-history transaction Bundle of the shape and size Synthea writes: one
 * Patient, then per visit an Encounter with its Observations, Conditions and Procedures, all
 * linked by urn:uuid fullUrls, each with a generated narrative (Synthea's bulk per entry is its
 * narrative and codings). Synthetic data only; the BSN comes from uniqueBsn (99997xxxx).
 */
import { randomUUID } from 'node:crypto';
import { BSN_SYSTEM } from '../../src/fhir/bsn.js';
import { uniqueBsn } from './referral.js';

type Json = Record<string, unknown>;

export interface PatientHistory {
  /** The Bundle as JSON text, as a client would send it. */
  readonly text: string;
  readonly bsn: string;
  readonly entries: number;
  /** Entries per resource type. */
  readonly counts: Readonly<Record<string, number>>;
}

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const VITALS: ReadonlyArray<readonly [string, string, string, number]> = [
  ['8867-4', 'Heart rate', '/min', 72],
  ['9279-1', 'Respiratory rate', '/min', 16],
  ['29463-7', 'Body weight', 'kg', 78],
  ['8302-2', 'Body height', 'cm', 176],
  ['39156-5', 'Body mass index', 'kg/m2', 25],
  ['8310-5', 'Body temperature', 'Cel', 37],
  ['2339-0', 'Glucose', 'mg/dL', 90],
];

/** A narrative table of `rows` rows, as Synthea-like generators produce for each resource. */
function narrative(title: string, rows: number): Json {
  const cells = Array.from(
    { length: rows },
    (_, i) => `<tr><td>Regel ${i + 1}</td><td>${title}: synthetische waarde ${i * 7} voor testdoeleinden, geen echte patiëntgegevens</td></tr>`
  ).join('');
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${title}</p><table><tbody>${cells}</tbody></table></div>` };
}

function entry(resource: Json, fullUrl = `urn:uuid:${randomUUID()}`): Json {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType } };
}

/**
 * A transaction of `size` entries (at least 2), about 6 KB each: 5,000 entries make ~30 MB.
 * Every fifth entry after the Patient is an Encounter; the ones between are Observations, with a
 * Condition and a Procedure now and then, each pointing at its Encounter and the Patient.
 */
export function patientHistoryBundle(size: number): PatientHistory {
  const bsn = uniqueBsn();
  const patientUrl = `urn:uuid:${randomUUID()}`;
  const counts: Record<string, number> = { Patient: 1 };
  const entries: Json[] = [
    entry(
      {
        resourceType: 'Patient',
        text: narrative('Synthetische patiënt', 20),
        identifier: [{ system: BSN_SYSTEM, value: bsn }],
        name: [{ family: 'Testpersoon', given: ['Synthea'] }],
        gender: 'female',
        birthDate: '1948-03-12',
        address: [{ line: ['Teststraat 1'], city: 'Utrecht', postalCode: '3511AA', country: 'NL' }],
      },
      patientUrl
    ),
  ];
  let encounterUrl = '';
  let day = Date.UTC(2000, 0, 1);
  for (let i = 1; i < size; i++) {
    const subject = { reference: patientUrl };
    let resource: Json;
    if ((i - 1) % 5 === 0) {
      day += 86_400_000 * 7;
      const start = new Date(day).toISOString();
      encounterUrl = `urn:uuid:${randomUUID()}`;
      resource = {
        resourceType: 'Encounter',
        text: narrative('Consult huisarts', 48),
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
        type: [{ coding: [{ system: SNOMED, code: '185349003', display: 'Encounter for check up' }] }],
        subject,
        period: { start, end: new Date(day + 1_800_000).toISOString() },
      };
      entries.push(entry(resource, encounterUrl));
    } else {
      const encounter = { reference: encounterUrl };
      const when = new Date(day + 600_000).toISOString();
      if (i % 23 === 0) {
        resource = {
          resourceType: 'Condition',
          text: narrative('Diagnose', 48),
          clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
          verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
          code: { coding: [{ system: SNOMED, code: '38341003', display: 'Hypertensive disorder' }] },
          subject,
          encounter,
          onsetDateTime: when,
        };
      } else if (i % 29 === 0) {
        resource = {
          resourceType: 'Procedure',
          text: narrative('Verrichting', 48),
          status: 'completed',
          code: { coding: [{ system: SNOMED, code: '430193006', display: 'Medication reconciliation' }] },
          subject,
          encounter,
          performedDateTime: when,
        };
      } else {
        const [code, display, unit, base] = VITALS[i % VITALS.length] as (typeof VITALS)[number];
        resource = {
          resourceType: 'Observation',
          text: narrative(display, 48),
          status: 'final',
          category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
          code: { coding: [{ system: LOINC, code, display }], text: display },
          subject,
          encounter,
          effectiveDateTime: when,
          issued: when,
          valueQuantity: { value: base + (i % 7), unit, system: 'http://unitsofmeasure.org', code: unit },
        };
      }
      entries.push(entry(resource));
    }
    const type = resource.resourceType as string;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return { text: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }), bsn, entries: size, counts };
}
