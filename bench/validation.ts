/**
 * Cost of content validation per write, per layer, for a typical Patient and Observation
 * (`npx tsx bench/validation.ts`). A measurement to report, not a timed test.
 */
import { performance } from 'node:perf_hooks';
import { validateResource } from '@medplum/core';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { decodeUtf8, parseFhirJson } from '../src/fhir/json-parse.js';
import { elementRuleIssues } from '../src/validation/element-rules.js';
import { ProfileRegistry } from '../src/validation/profiles.js';
import { schemaIssues } from '../src/validation/schema.js';
import { createValidator } from '../src/validation/validator.js';

const patient: Patient = {
  resourceType: 'Patient',
  meta: { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Piet Bakker, 3 februari 1950</p></div>' },
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900018' }],
  active: true,
  name: [{ use: 'official', family: 'Bakker', given: ['Piet', 'Jan'], prefix: ['dhr.'] }],
  telecom: [{ system: 'phone', value: '+31 20 555 0100', use: 'home' }],
  gender: 'male',
  birthDate: '1950-02-03',
  address: [{ use: 'home', line: ['Dorpsstraat 1'], city: 'Utrecht', postalCode: '3511 AA', country: 'NL' }],
  generalPractitioner: [{ reference: 'Practitioner/gp-1', display: 'Dr. Jansen' }],
  managingOrganization: { reference: 'Organization/praktijk-1' },
};

const observation: Observation = {
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
  subject: { reference: 'Patient/p-1' },
  effectiveDateTime: '2024-05-01T10:15:00+02:00',
  performer: [{ reference: 'Practitioner/physio-1' }],
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 135, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 85, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
  ],
};

/** Best of several rounds: the machine is shared, the minimum is the cost without interference. */
function measure(label: string, fn: () => unknown, iterations = 300, rounds = 7): number {
  for (let i = 0; i < 200; i++) {
    fn();
  }
  let micros = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) {
      fn();
    }
    micros = Math.min(micros, ((performance.now() - start) / iterations) * 1000);
  }
  console.log(`${label.padEnd(44)} ${micros.toFixed(1).padStart(8)} µs`);
  return micros;
}

function structure(resource: Resource): void {
  try {
    validateResource(resource);
  } catch {
    // errors are not expected for these resources
  }
}

const started = performance.now();
const validator = createValidator(ProfileRegistry.fromFolder('test/fixtures/profiles'));
console.log(`validator start-up (schema compile, definitions)  ${(performance.now() - started).toFixed(0)} ms\n`);

for (const resource of [patient, observation] as Resource[]) {
  const text = JSON.stringify(resource);
  const bytes = Buffer.from(text);
  console.log(`${resource.resourceType} (${bytes.length} bytes of JSON)`);
  measure('  JSON.parse (for comparison)', () => JSON.parse(text));
  measure('  strict FHIR JSON parse (decode + parse)', () => parseFhirJson(decodeUtf8(bytes), { maxDepth: 64 }));
  measure('  1 JSON schema (ajv)', () => schemaIssues(resource));
  measure('  2 structure and invariants (@medplum/core)', () => structure(resource));
  measure('  3 element rules (references, narrative...)', () => elementRuleIssues(resource, { inBundle: false, profileType: () => undefined }));
  measure('  total validator.validate()', () => validator.validate(resource));
  console.log('');
}

// A claimed profile: @medplum/core parses the StructureDefinition on every validation.
const claimed: Resource = { ...patient, meta: { profile: ['https://schakel.test/fhir/StructureDefinition/test-patient'] } };
console.log('Patient claiming the test profile (full R4 Patient snapshot)');
measure('  total validator.validate()', () => validator.validate(claimed), 100);
