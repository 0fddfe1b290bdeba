/**
 * Synthetic care-domain data for the search benchmark: patients with test BSNs (9999xxxxx,
 * passing the eleven-test), and per patient a care plan, tasks, logbook observations and a
 * questionnaire response. Deterministic, so runs are comparable.
 */
import type { Resource } from '@medplum/fhirtypes';

export const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';
const AGB = 'http://fhir.nl/fhir/NamingSystem/agb-z';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

/** BSNs from 999900000 upward that pass the eleven-test (9*d1 + ... + 2*d8 - d9 divisible by 11). */
export function* testBsns(): Generator<string> {
  for (let n = 999_900_000; n <= 999_999_999; n++) {
    const digits = String(n).split('').map(Number);
    const sum = digits.slice(0, 8).reduce((acc, d, i) => acc + d * (9 - i), 0) - (digits[8] as number);
    if (sum % 11 === 0) {
      yield String(n);
    }
  }
}

export const ORGANIZATIONS = 20;
/** Resources generated per patient (see patientRecord). */
export const PER_PATIENT = 20;

export function organizations(): Resource[] {
  return Array.from({ length: ORGANIZATIONS }, (_, i) => ({
    resourceType: 'Organization',
    id: `org-${i}`,
    name: `Praktijk ${i}`,
    identifier: [{ system: AGB, value: String(1_000_000 + i).padStart(8, '0') }],
  }));
}

/** One patient and the 19 resources of their record. */
export function patientRecord(index: number, bsn: string): Resource[] {
  const pid = `pat-${index}`;
  const subject = { reference: `Patient/${pid}` };
  const org = { reference: `Organization/org-${index % ORGANIZATIONS}` };
  const day = (n: number) => new Date(Date.UTC(2024, 0, 1) + ((index * 7 + n * 3) % 700) * 86_400_000).toISOString().slice(0, 10);
  const resources: Resource[] = [
    {
      resourceType: 'Patient',
      id: pid,
      identifier: [{ system: BSN, value: bsn }],
      name: [{ family: `Familie${index % 997}`, given: [`Voornaam${index % 101}`] }],
      gender: index % 2 === 0 ? 'female' : 'male',
      birthDate: `19${30 + (index % 60)}-0${1 + (index % 9)}-1${index % 10}`,
      managingOrganization: org,
    },
    {
      resourceType: 'CarePlan',
      id: `cp-${index}`,
      status: 'active',
      intent: 'plan',
      subject,
      period: { start: day(0) },
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '736353004' }] }],
    },
  ];
  for (let t = 0; t < 2; t++) {
    resources.push({
      resourceType: 'Task',
      id: `task-${index}-${t}`,
      status: t === 0 ? 'requested' : 'completed',
      intent: 'order',
      focus: { reference: `CarePlan/cp-${index}` },
      for: subject,
      owner: org,
      authoredOn: `${day(t)}T09:00:00Z`,
    });
  }
  for (let o = 0; o < 15; o++) {
    const systolic = 110 + ((index + o * 7) % 60);
    resources.push({
      resourceType: 'Observation',
      id: `obs-${index}-${o}`,
      status: 'final',
      code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure' }] },
      subject,
      effectiveDateTime: `${day(o)}T${String(8 + (o % 10)).padStart(2, '0')}:00:00Z`,
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: systolic - 40, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
      ],
    });
  }
  resources.push({
    resourceType: 'QuestionnaireResponse',
    id: `qr-${index}`,
    status: 'completed',
    questionnaire: 'http://schakel.nl/fhir/Questionnaire/pdi',
    subject,
    authored: `${day(1)}T10:00:00Z`,
    item: [{ linkId: 'pdi-total', answer: [{ valueInteger: index % 70 }] }],
  });
  return resources;
}
