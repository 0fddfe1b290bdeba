import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';

const observation = (subject: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: subject },
  valueQuantity: { value: 72, unit: 'beats/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

t.test(`referential integrity on write and delete on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const missing = await request({ method: 'POST', url: '/fhir/Observation', body: observation('Patient/nobody') });
  t.equal(missing.statusCode, 422, 'a local reference must point at an existing resource');
  t.equal(missing.json().issue[0].code, 'not-found');
  t.same(missing.json().issue[0].expression, ['Observation.subject']);

  const patient = (await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family: 'Ref' }] } })).json();
  const obs = await request({ method: 'POST', url: '/fhir/Observation', body: observation(`Patient/${patient.id}`) });
  t.equal(obs.statusCode, 201);
  const absolute = await request({ method: 'POST', url: '/fhir/Observation', body: observation(`http://localhost:80/fhir/Patient/${patient.id}`) });
  t.equal(absolute.statusCode, 201, 'an absolute URL on this server counts as local');
  const external = await request({ method: 'POST', url: '/fhir/Observation', body: observation('https://other.example.org/fhir/Patient/1') });
  t.equal(external.statusCode, 201, 'references to other servers are not checked for existence');

  const refused = await request({ method: 'DELETE', url: `/fhir/Patient/${patient.id}` });
  t.equal(refused.statusCode, 409, 'a referenced resource cannot be deleted');
  t.equal(refused.json().issue[0].code, 'conflict');
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${patient.id}` })).statusCode, 200, 'and is still there');

  const provenance = await request({
    method: 'POST',
    url: '/fhir/Provenance',
    body: {
      resourceType: 'Provenance',
      target: [{ reference: `Patient/${patient.id}` }],
      recorded: '2026-01-01T10:00:00Z',
      agent: [{ who: { display: 'Integratie' } }],
    },
  });
  t.equal(provenance.statusCode, 201);
  await request({ method: 'DELETE', url: `/fhir/Observation/${obs.json().id}` });
  await request({ method: 'DELETE', url: `/fhir/Observation/${absolute.json().id}` });
  const allowed = await request({ method: 'DELETE', url: `/fhir/Patient/${patient.id}` });
  t.equal(allowed.statusCode, 200, 'references from Provenance and deleted resources do not block a delete');

  const toDeleted = await request({ method: 'POST', url: '/fhir/Observation', body: observation(`Patient/${patient.id}`) });
  t.equal(toDeleted.statusCode, 422, 'a reference to a deleted resource is refused');
});

t.test(`referential integrity can be switched off on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { REFERENTIAL_INTEGRITY_ON_WRITE: 'false', REFERENTIAL_INTEGRITY_ON_DELETE: 'false' });
  t.equal((await request({ method: 'POST', url: '/fhir/Observation', body: observation('Patient/later') })).statusCode, 201);
  await request({ method: 'PUT', url: '/fhir/Patient/later', body: { resourceType: 'Patient', id: 'later' } });
  t.equal((await request({ method: 'DELETE', url: '/fhir/Patient/later' })).statusCode, 200);
});
