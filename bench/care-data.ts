/**
 * Synthetic care-domain data for the search benchmark: patients with test BSNs (9999xxxxx,
 * passing the eleven-test), professionals in roles per organisation (GP, physiotherapist, nurse),
 * and per patient a care plan, a referral with its tasks, logbook observations written by the
 * physiotherapist and the nurse, and a questionnaire response. Deterministic, so runs are comparable.
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
export const PER_PATIENT = 21;

const ROLE = 'urn:oid:2.16.840.1.113883.2.4.15.111';
/** Disciplines of the professionals in each organisation (RoleCodeNL). */
const DISCIPLINES = [
  ['gp', '01.015', 'Huisarts'],
  ['physio', '04.000', 'Fysiotherapeut'],
  ['nurse', '30.000', 'Verpleegkundige'],
] as const;

export function organizations(): Resource[] {
  return Array.from({ length: ORGANIZATIONS }, (_, i): Resource[] => [
    {
      resourceType: 'Organization',
      id: `org-${i}`,
      name: `Praktijk ${i}`,
      identifier: [{ system: AGB, value: String(1_000_000 + i).padStart(8, '0') }],
    },
    ...DISCIPLINES.map(
      ([key, code, display]): Resource => ({
        resourceType: 'PractitionerRole',
        id: `role-${key}-${i}`,
        organization: { reference: `Organization/org-${i}` },
        code: [{ coding: [{ system: ROLE, code, display }] }],
      })
    ),
  ]).flat();
}

/** One patient and the 20 resources of their record. */
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
  const orgIndex = index % ORGANIZATIONS;
  resources.push({
    resourceType: 'ServiceRequest',
    id: `ref-${index}`,
    status: Math.floor(index / ORGANIZATIONS) % 2 === 0 ? 'active' : 'completed',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
    priority: 'routine',
    subject,
    authoredOn: `${day(2)}T09:00:00Z`,
    requester: { reference: `PractitionerRole/role-gp-${orgIndex}` },
    performerType: { coding: [{ system: ROLE, code: '04.000' }] },
    reasonCode: [{ text: 'Lage rugpijn' }],
  });
  for (let t = 0; t < 2; t++) {
    resources.push({
      resourceType: 'Task',
      id: `task-${index}-${t}`,
      status: t === 0 ? 'requested' : 'completed',
      intent: 'order',
      focus: { reference: t === 0 ? `CarePlan/cp-${index}` : `ServiceRequest/ref-${index}` },
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
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure' }] },
      subject,
      basedOn: [{ reference: `CarePlan/cp-${index}` }],
      performer: [{ reference: `PractitionerRole/role-${o % 2 === 0 ? 'nurse' : 'physio'}-${orgIndex}` }],
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
