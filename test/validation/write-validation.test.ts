import t from 'tap';
import { withUniqueBsn } from '../helpers/referral.js';
import type { Resource } from '@medplum/fhirtypes';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';

const patient = {
  resourceType: 'Patient',
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900018' }],
  name: [{ family: 'Bakker', given: ['Piet'] }],
  gender: 'male',
  birthDate: '1950-02-03',
};

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
};

t.test(`structure, formats, bindings and invariants on create on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const post = (body: unknown) => request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body: withUniqueBsn(body) });

  t.equal((await post(patient)).statusCode, 201, 'a valid patient is stored');
  t.equal((await post(observation)).statusCode, 201, 'a valid observation is stored');

  assertIssue(t, await post({ ...patient, gender: 'man' }), 422, 'code-invalid', 'Patient.gender');
  assertIssue(t, await post({ ...patient, name: [{ given: [7] }] }), 422, 'structure', 'Patient.name[0].given[0]');
  assertIssue(t, await post({ ...patient, nickname: 'Pietje' }), 422, 'structure', 'Patient.nickname');
  assertIssue(t, await post({ resourceType: 'Task', intent: 'order', status: 'begun' }), 422, 'code-invalid', 'Task.status');
  assertIssue(t, await post({ resourceType: 'Task', intent: 'order' }), 422, 'structure', 'Task.status');
  assertIssue(t, await post({ resourceType: 'Observation', status: 'final' }), 422, 'structure', 'Observation.code');
  assertIssue(t, await post({ ...observation, valueString: '72' }), 422, 'structure', 'Observation.value');
  assertIssue(t, await post({ ...patient, deceasedBoolean: false, deceasedDateTime: '2020-01-01' }), 422, 'structure', 'Patient.deceased');

  // Primitive formats (https://hl7.org/fhir/R4/datatypes.html#primitive).
  assertIssue(t, await post({ ...patient, birthDate: '1950-13-03' }), 422, 'structure', 'Patient.birthDate');
  assertIssue(t, await post({ ...patient, birthDate: '3-2-1950' }), 422, 'structure', 'Patient.birthDate');
  assertIssue(t, await post({ ...observation, effectiveDateTime: '2024-05-01T10:00' }), 422, 'structure', 'Observation.effectiveDateTime');
  assertIssue(t, await post({ ...observation, issued: '2024-05-01' }), 422, 'structure', 'Observation.issued');
  assertIssue(t, await post({ ...observation, valueQuantity: { value: '72' } }), 422, 'structure', 'Observation.valueQuantity.value');
  assertIssue(t, await post({ ...patient, contained: [{ resourceType: 'Organization', id: 'bad_id', name: 'X' }], managingOrganization: { reference: '#bad_id' } }), 422, 'structure', 'Patient.contained[0].id');
  assertIssue(t, await post({ ...patient, identifier: [{ system: 'http://fhir.nl/has space', value: '1' }] }), 422, 'structure', 'Patient.identifier[0].system');
  assertIssue(t, await post({ ...observation, code: { coding: [{ system: 'http://loinc.org', code: '8867-4 ' }] } }), 422, 'structure', 'Observation.code.coding[0].code');
  assertIssue(t, await post({ ...observation, code: { coding: [{ system: 'http://loinc.org', code: '8867\t4' }] } }), 422, 'structure', 'Observation.code.coding[0].code');
  assertIssue(t, await post({ resourceType: 'Binary', contentType: 'text/plain', data: 'not base64!' }), 422, 'structure', 'Binary.data');
  t.equal((await post({ resourceType: 'Binary', contentType: 'text/plain', data: 'aGVs bG8=' })).statusCode, 201, 'base64 may hold whitespace');
  const huge = JSON.stringify({ ...observation, valueQuantity: { value: 1 } }).replace('"value":1', '"value":1e400');
  assertIssue(t, await request({ method: 'POST', url: '/fhir/Observation', body: huge }), 400, 'structure');

  // FHIRPath invariants.
  assertIssue(t, await post({ ...patient, contact: [{ gender: 'female' }] }), 422, 'invariant', 'Patient.contact[0]');
  assertIssue(t, await post({ ...observation, effectivePeriod: { start: '2024-05-02', end: '2024-05-01' } }), 422, 'invariant', 'Observation.effectivePeriod');
  assertIssue(t, await post({ ...patient, extension: [{ url: 'https://schakel.test/x', valueString: 'a', extension: [{ url: 'b', valueInteger: 1 }] }] }), 422, 'invariant', 'Patient.extension[0]');
  assertIssue(
    t,
    await post({ resourceType: 'Questionnaire', status: 'active', item: [{ linkId: '1', type: 'boolean', enableWhen: [{ question: 'a', operator: '=', answerBoolean: true }, { question: 'b', operator: '=', answerBoolean: true }] }] }),
    422,
    'invariant',
    'Questionnaire.item[0]'
  );

  // Narrative (txt-1, txt-2) and attachments.
  const div = (html: string) => ({ ...patient, text: { status: 'generated', div: html } });
  t.equal((await post(div('<div xmlns="http://www.w3.org/1999/xhtml"><p>Piet <b>Bakker</b></p></div>'))).statusCode, 201);
  assertIssue(t, await post(div('<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>')), 422, 'invariant', 'Patient.text.div');
  assertIssue(t, await post(div('<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>')), 422, 'invariant', 'Patient.text.div');
  assertIssue(t, await post(div('<div xmlns="http://www.w3.org/1999/xhtml">&reg;</div>')), 422, 'invariant', 'Patient.text.div');
  assertIssue(t, await post(div('<div>no namespace</div>')), 422, 'invariant', 'Patient.text.div');
  assertIssue(t, await post(div('<div xmlns="http://www.w3.org/1999/xhtml"> </div>')), 422, 'invariant', 'Patient.text.div');
  assertIssue(
    t,
    await post({ ...patient, photo: [{ contentType: 'image/png', data: 'aGVsbG8=', size: 100 }] }),
    422,
    'value',
    'Patient.photo[0].size'
  );
});

t.test(`required bindings on CodeableConcept elements on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const post = (body: unknown) => request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body: withUniqueBsn(body) });
  const subject = await post(patient);
  const clinical = (code: string, system = 'http://terminology.hl7.org/CodeSystem/condition-clinical') => ({ coding: [{ system, code }] });
  const condition = {
    resourceType: 'Condition',
    subject: { reference: `Patient/${subject.json().id as string}` },
    code: { text: 'Hartfalen' },
  };

  t.equal((await post({ ...condition, clinicalStatus: clinical('active') })).statusCode, 201, 'a top-level code of the code system');
  t.equal((await post({ ...condition, clinicalStatus: clinical('remission') })).statusCode, 201, 'a nested code of the code system (inactive > remission)');
  t.equal(
    (await post({ ...condition, clinicalStatus: { coding: [{ system: 'http://snomed.info/sct', code: '55561003' }, { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] } })).statusCode,
    201,
    'one coding from the value set is enough'
  );
  t.equal((await post(condition)).statusCode, 201, 'an absent element is not a binding question');
  assertIssue(t, await post({ ...condition, clinicalStatus: clinical('cured') }), 422, 'code-invalid', 'Condition.clinicalStatus.coding');
  assertIssue(t, await post({ ...condition, clinicalStatus: clinical('active', 'http://snomed.info/sct') }), 422, 'code-invalid', 'Condition.clinicalStatus.coding');
  assertIssue(t, await post({ ...condition, clinicalStatus: { coding: [{ code: 'active' }] } }), 422, 'code-invalid', 'Condition.clinicalStatus.coding');
  assertIssue(t, await post({ ...condition, clinicalStatus: { text: 'actief' } }), 422, 'code-invalid', 'Condition.clinicalStatus');
  assertIssue(
    t,
    await post({ ...condition, verificationStatus: clinical('active', 'http://terminology.hl7.org/CodeSystem/condition-ver-status') }),
    422,
    'code-invalid',
    'Condition.verificationStatus.coding'
  );
  assertIssue(
    t,
    await post({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...condition, clinicalStatus: clinical('cured') } }] }),
    422,
    'code-invalid',
    'Bundle.entry[0].resource.clinicalStatus.coding'
  );
  // Value sets that need a terminology server (UCUM units) are not judged.
  t.equal(
    (
      await post({
        resourceType: 'ResearchElementDefinition',
        status: 'draft',
        type: 'population',
        characteristic: [{ definitionCodeableConcept: { text: 'Bloeddruk' }, unitOfMeasure: { coding: [{ system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }] } }],
      })
    ).statusCode,
    201,
    'UCUM units need a terminology server: not judged'
  );
});

t.test(`nested resources are validated with their own paths on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const post = (body: unknown) => request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body: withUniqueBsn(body) });
  assertIssue(t, await post({ ...patient, contained: [{ resourceType: 'Organization', id: 'o1', name: 7 }], managingOrganization: { reference: '#o1' } }), 422, 'structure', 'Patient.contained[0].name');
  assertIssue(t, await post({ ...patient, contained: [{ resourceType: 'Organization', id: 'o1', active: true, gender: 'male' }], managingOrganization: { reference: '#o1' } }), 422, 'structure', 'Patient.contained[0].gender');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e', resource: { ...patient, birthDate: 'yesterday' } }] }), 422, 'structure', 'Bundle.entry[0].resource.birthDate');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...observation, status: 'done' } }] }), 422, 'code-invalid', 'Bundle.entry[0].resource.status');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...patient, managingOrganization: { reference: 'Patient/x' } } }] }), 422, 'invalid', 'Bundle.entry[0].resource.managingOrganization.reference');
  assertIssue(t, await post({ resourceType: 'Parameters', parameter: [{ name: 'p', resource: { ...patient, birthDate: '2020-02-30x' } }] }), 422, 'structure', 'Parameters.parameter[0].resource.birthDate');
  assertIssue(t, await post({ ...patient, contained: [{ resourceType: 'Organization', id: 'o1', name: 'Niemand' }] }), 422, 'invariant', 'Patient.contained[0]');
  const siblings = {
    ...patient,
    contained: [
      { resourceType: 'Organization', id: 'o1', name: 'Praktijk' },
      { resourceType: 'Practitioner', id: 'p1', name: [{ family: 'Jansen' }] },
      { resourceType: 'PractitionerRole', id: 'r1', practitioner: { reference: '#p1' }, organization: { reference: '#o1' } },
    ],
    generalPractitioner: [{ reference: '#r1' }],
  };
  t.equal((await post(siblings)).statusCode, 201, 'contained resources reached through a sibling');
  assertIssue(t, await post({ resourceType: 'Parameters', parameter: [{ name: 'p', valueString: 'a', valueInteger: 1 }] }), 422, 'structure', 'Parameters.parameter[0].value');
});

t.test(`references: form, target type, contained and Bundle-only forms on ${engine}`, async (t) => {
  const { request, app } = await createTestApp(t);
  const post = (body: unknown) => request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body: withUniqueBsn(body) });
  const org = await post({ resourceType: 'Organization', name: 'Huisartsenpraktijk De Linde' });
  t.equal(org.statusCode, 201);
  const orgId = org.json().id as string;
  const pat = (reference: string, extra: Record<string, unknown> = {}) => post({ ...patient, managingOrganization: { reference, ...extra } });

  t.equal((await pat(`Organization/${orgId}`)).statusCode, 201, 'relative Type/id');
  t.equal((await pat(`Organization/${orgId}/_history/1`)).statusCode, 201, 'relative versioned Type/id/_history/v');
  t.equal((await pat('https://other.example.nl/fhir/Organization/42')).statusCode, 201, 'absolute URL on another server');
  assertIssue(t, await pat('Organization/missing'), 422, 'not-found', 'Patient.managingOrganization');
  assertIssue(t, await pat(`Patient/${orgId}`), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('https://other.example.nl/fhir/Patient/42'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('Unicorn/1'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('the GP practice'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat(`Organization/${orgId}`, { type: 'Practitioner' }), 422, 'invalid', 'Patient.managingOrganization.type');
  assertIssue(t, await pat('urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('urn:oid:2.16.840.1.113883.2.4.6.1'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|01234567'), 422, 'invalid', 'Patient.managingOrganization.reference');
  assertIssue(t, await pat('#nowhere'), 422, 'invalid', 'Patient.managingOrganization.reference');
  t.equal(
    (await post({ ...patient, contained: [{ resourceType: 'Organization', id: 'o1', name: 'Praktijk' }], managingOrganization: { reference: '#o1' } })).statusCode,
    201,
    'a contained target'
  );
  assertIssue(
    t,
    await post({ ...patient, contained: [{ resourceType: 'Practitioner', id: 'p1', name: [{ family: 'Jansen' }] }], managingOrganization: { reference: '#p1' } }),
    422,
    'invalid',
    'Patient.managingOrganization.reference'
  );
  assertIssue(
    t,
    await post({ ...observation, subject: { reference: 'Organization/' + orgId } }),
    422,
    'invalid',
    'Observation.subject.reference'
  );

  // Inside a Bundle, urn:uuid: references resolve against fullUrl.
  const doc = await post({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e', resource: { resourceType: 'Organization', name: 'Praktijk' } },
      { fullUrl: 'urn:uuid:1c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e', resource: { ...patient, managingOrganization: { reference: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e' } } },
    ],
  });
  t.equal(doc.statusCode, 201, 'urn:uuid: inside a stored Bundle');

  // Transaction processing validates its entries with { inBundle: true }.
  const validator = app.fhirContext.validator;
  const entry = { ...patient, managingOrganization: { reference: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e' } } as Resource;
  t.notOk(validator.check(entry, { inBundle: true }).issues.some((i) => i.severity === 'error'), 'urn:uuid: in a transaction entry');
  t.ok(validator.check(entry).issues.some((i) => i.severity === 'error'), 'urn:uuid: outside one');
  const conditional = { ...patient, managingOrganization: { reference: 'Organization?identifier=x|1' } } as Resource;
  t.notOk(validator.check(conditional, { inBundle: true }).issues.some((i) => i.severity === 'error'), 'conditional reference in a transaction entry');
  const wrongType = { ...patient, managingOrganization: { reference: 'Patient?identifier=x|1' } } as Resource;
  t.ok(validator.check(wrongType, { inBundle: true }).issues.some((i) => i.code === 'invalid'), 'a conditional reference still has a target type');
});

t.test(`update and patch are validated like create on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const created = await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...patient, id: 'p1' } });
  t.equal(created.statusCode, 201);
  assertIssue(t, await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...patient, id: 'p1', gender: 'M' } }), 422, 'code-invalid', 'Patient.gender');
  assertIssue(t, await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...patient, id: 'p1', managingOrganization: { reference: 'Patient/p1' } } }), 422, 'invalid', 'Patient.managingOrganization.reference');
  const patch = (ops: unknown) =>
    request({ method: 'PATCH', url: '/fhir/Patient/p1', body: ops, headers: { 'content-type': 'application/json-patch+json' } });
  assertIssue(t, await patch([{ op: 'replace', path: '/birthDate', value: '03-02-1950' }]), 422, 'structure', 'Patient.birthDate');
  assertIssue(t, await patch([{ op: 'add', path: '/deceasedDateTime', value: '2020-01-01' }, { op: 'add', path: '/deceasedBoolean', value: true }]), 422, 'structure', 'Patient.deceased');
  assertIssue(t, await patch([{ op: 'add', path: '/name/0/given', value: [] }]), 422, 'structure', 'Patient.name[0].given');
  const ok = await patch([{ op: 'replace', path: '/gender', value: 'female' }]);
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().meta.versionId, '2', 'only the valid patch made a version');
  t.same(issuesOf(ok), [], 'a representation, not an outcome');
});

t.test(`extensions R4 defines and Bundle rules on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const post = (body: unknown) => request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body: withUniqueBsn(body) });
  const congregation = { url: 'http://hl7.org/fhir/StructureDefinition/patient-congregation', valueString: 'Hervormd' };
  t.equal((await post({ ...patient, extension: [congregation] })).statusCode, 201, 'a core extension in its context');
  t.equal((await post({ ...patient, extension: [{ url: 'http://nictiz.nl/fhir/StructureDefinition/ext-Unknown', valueString: 'x' }] })).statusCode, 201, 'an extension without a definition here is accepted');
  assertIssue(t, await post({ ...patient, extension: [{ ...congregation, valueString: undefined, valueInteger: 3 }] }), 422, 'structure', 'Patient.extension[0].valueInteger');
  const mothersFamily = { url: 'http://hl7.org/fhir/StructureDefinition/humanname-mothers-family', valueString: 'Jansen' };
  assertIssue(t, await post({ ...patient, name: [{ family: 'Bakker', extension: [mothersFamily] }] }), 422, 'structure', 'Patient.name[0].extension[0]');
  assertIssue(t, await post({ ...observation, extension: [congregation] }), 422, 'structure', 'Observation.extension[0]');

  const entry = (fullUrl: string, resource: unknown) => ({ fullUrl, resource });
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', entry: [entry('Patient/1', { ...patient, id: '1' })] }), 422, 'invalid', 'Bundle.entry[0].fullUrl');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', entry: [entry('https://x.example/fhir/Patient/2', { ...patient, id: '1' })] }), 422, 'invalid', 'Bundle.entry[0].fullUrl');
  t.equal((await post({ resourceType: 'Bundle', type: 'collection', entry: [entry('https://x.example/fhir/Patient/1', { ...patient, id: '1' })] })).statusCode, 201);
  const link = (relation: string) => ({ relation, url: `https://x.example/fhir/Patient?${relation}` });
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'searchset', link: [link('self'), link('self')] }), 422, 'invalid', 'Bundle.link[1].relation');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'collection', link: [link('next')] }), 422, 'invalid', 'Bundle.link[0].relation');
  assertIssue(t, await post({ resourceType: 'Bundle', type: 'searchset', entry: [{ fullUrl: 'urn:uuid:0c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e', resource: patient, search: { mode: 'match' } }] }), 422, 'invalid', 'Bundle.entry[0].resource');
  const composition = {
    resourceType: 'Composition',
    status: 'final',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    date: '2024-05-01',
    title: 'Verwijsbrief',
    author: [{ reference: 'Practitioner/gp' }],
    subject: { reference: 'Patient/p' },
  };
  const document = (subject: string) => ({
    resourceType: 'Bundle',
    type: 'document',
    identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:2c3b6b1a-5a4f-4a1e-9d2f-3c1a2b3c4d5e' },
    timestamp: '2024-05-01T10:00:00Z',
    entry: [
      entry('https://x.example/fhir/Composition/c', { ...composition, id: 'c', subject: { reference: subject } }),
      entry('https://x.example/fhir/Patient/p', { ...patient, id: 'p' }),
      entry('https://x.example/fhir/Practitioner/gp', { resourceType: 'Practitioner', id: 'gp', name: [{ family: 'Jansen' }] }),
    ],
  });
  t.equal((await post(document('Patient/p'))).statusCode, 201, 'a document whose references resolve');
  assertIssue(t, await post(document('Patient/q')), 422, 'invalid', 'Bundle.entry[0].resource.subject.reference');
});
