import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';

const TEST_PATIENT = 'https://schakel.test/fhir/StructureDefinition/test-patient';
const patient = {
  resourceType: 'Patient',
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900018' }],
  name: [{ family: 'Bakker', given: ['Piet'] }],
  gender: 'male',
};

function errorsOf(response: { json: () => unknown } & Parameters<typeof issuesOf>[0]) {
  return issuesOf(response).filter((i) => i.severity === 'error');
}

t.test(`$validate on type and instance on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { PROFILES_DIR: 'test/fixtures/profiles' });
  const validate = (url: string, body?: unknown) => request({ method: body === undefined ? 'GET' : 'POST', url, ...(body === undefined ? {} : { body }) });

  const ok = await validate('/fhir/Patient/$validate', patient);
  t.equal(ok.statusCode, 200);
  t.same(errorsOf(ok), [], 'a valid resource');
  t.equal(issuesOf(ok)[0]?.severity, 'information');

  const bad = await validate('/fhir/Patient/$validate', { ...patient, gender: 'man', managingOrganization: { reference: 'Patient/1' } });
  t.equal(bad.statusCode, 200, '200 whether or not the resource is valid');
  t.ok(errorsOf(bad).some((i) => i.code === 'code-invalid' && i.expression?.includes('Patient.gender')));

  const wrong = await validate('/fhir/Patient/$validate', { ...patient, managingOrganization: { reference: 'Patient/1' } });
  t.ok(errorsOf(wrong).some((i) => i.code === 'invalid' && i.expression?.includes('Patient.managingOrganization.reference')));
  const missing = await validate('/fhir/Patient/$validate', { ...patient, managingOrganization: { reference: 'Organization/not-stored' } });
  t.same(errorsOf(missing), [], 'a missing target is a storage matter, not content');

  const wrapped = await validate('/fhir/Patient/$validate', {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: { ...patient, birthDate: 'gisteren' } }, { name: 'mode', valueCode: 'create' }],
  });
  t.ok(errorsOf(wrapped).some((i) => i.expression?.includes('Patient.birthDate')), 'Parameters with resource and mode');

  const params = { resourceType: 'Parameters', parameter: [{ name: 'p', valueString: 'x' }] };
  t.same(errorsOf(await validate('/fhir/Parameters/$validate', params)), [], 'a Parameters resource validates itself');

  assertIssue(t, await validate('/fhir/Patient/$validate', { ...patient, resourceType: 'Observation' }), 400, 'invalid', 'resourceType');
  assertIssue(t, await validate('/fhir/Patient/$validate?mode=erase', patient), 400, 'invalid', 'mode');
  assertIssue(t, await validate('/fhir/Patient/$validate?mode=delete', patient), 400, 'invalid');

  // Instance level: the stored version, update rules, delete.
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...patient, id: 'p1' } })).statusCode, 201);
  const stored = await validate('/fhir/Patient/p1/$validate');
  t.equal(stored.statusCode, 200);
  t.same(errorsOf(stored), [], 'GET validates the stored version');
  t.equal((await validate('/fhir/Patient/unknown/$validate')).statusCode, 404);
  const mismatch = await validate('/fhir/Patient/p1/$validate?mode=update', { ...patient, id: 'p2' });
  t.ok(errorsOf(mismatch).some((i) => i.code === 'invalid' && i.expression?.includes('Patient.id')), 'update: the id must match the URL');
  const noId = await validate('/fhir/Patient/p1/$validate?mode=update', patient);
  t.ok(errorsOf(noId).some((i) => i.code === 'required' && i.expression?.includes('Patient.id')), 'update: the id is required');

  const deletable = await validate('/fhir/Patient/p1/$validate?mode=delete', { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }] });
  t.equal(deletable.statusCode, 200);
  t.same(errorsOf(deletable), [], 'an unreferenced resource could be deleted');
  t.equal((await request({ method: 'POST', url: '/fhir/Observation', body: { resourceType: 'Observation', status: 'final', code: { text: 'pols' }, subject: { reference: 'Patient/p1' } } })).statusCode, 201);
  const referenced = await validate('/fhir/Patient/p1/$validate', { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }] });
  t.ok(errorsOf(referenced).some((i) => i.code === 'conflict'), 'a referenced resource could not be deleted');
  t.equal((await request({ method: 'GET', url: '/fhir/Patient/p1' })).statusCode, 200, 'and nothing was deleted');

  // The profile parameter.
  const viaQuery = await validate(`/fhir/Patient/$validate?profile=${encodeURIComponent(TEST_PATIENT)}`, patient);
  t.ok(errorsOf(viaQuery).some((i) => i.expression?.includes('Patient.birthDate')), 'profile as query parameter');
  const viaParams = await validate('/fhir/Patient/$validate', {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: patient }, { name: 'profile', valueUri: TEST_PATIENT }],
  });
  t.ok(errorsOf(viaParams).some((i) => i.expression?.includes('Patient.birthDate')), 'profile as Parameters parameter');
  const conforming = await validate(`/fhir/Patient/$validate?profile=${encodeURIComponent(TEST_PATIENT)}`, { ...patient, birthDate: '1950-02-03' });
  t.same(errorsOf(conforming), []);
  const storedAgainstProfile = await validate(`/fhir/Patient/p1/$validate?profile=${encodeURIComponent(TEST_PATIENT)}`);
  t.ok(errorsOf(storedAgainstProfile).some((i) => i.expression?.includes('Patient.birthDate')), 'the stored version against a profile');
  t.same(errorsOf(await validate('/fhir/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/Patient', patient)), [], 'the base profile');
  assertIssue(t, await validate('/fhir/Patient/$validate?profile=https://elsewhere.example/sd', patient), 400, 'not-supported', 'profile');
});
