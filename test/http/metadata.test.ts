import t from 'tap';
import { r4ResourceTypes } from '../../src/fhir/definitions.js';
import { createTestApp, engine } from '../helpers/app.js';
import { clientAssertion, TOKEN_URL } from '../helpers/auth.js';

t.test(`CapabilityStatement reflects what is implemented on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const response = await request({ method: 'GET', url: '/fhir/metadata' });
  t.equal(response.statusCode, 200);
  const cs = response.json();
  t.equal(cs.resourceType, 'CapabilityStatement');
  t.equal(cs.fhirVersion, '4.0.1');
  t.equal(cs.kind, 'instance');
  t.ok(cs.format.includes('application/fhir+json'));
  t.same(cs.patchFormat, ['application/json-patch+json']);
  const rest = cs.rest[0];
  t.equal(rest.mode, 'server');
  t.equal(rest.resource.length, r4ResourceTypes().length, 'every R4 resource type');
  t.ok(r4ResourceTypes().includes('Patient') && r4ResourceTypes().includes('QuestionnaireResponse'));
  t.notOk(r4ResourceTypes().includes('SubscriptionStatus'), 'no types from later FHIR versions');
  const patient = rest.resource.find((r: any) => r.type === 'Patient');
  const codes = patient.interaction.map((i: any) => i.code);
  for (const code of ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create']) {
    t.ok(codes.includes(code), `Patient supports ${code}`);
  }
  t.equal(patient.versioning, 'versioned-update');

  // SMART: the security service and its token endpoint, which answers a client's assertion.
  t.equal(rest.security.service[0].coding[0].code, 'SMART-on-FHIR');
  const oauth = rest.security.extension.find((e: any) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  const tokenUrl = oauth.extension.find((e: any) => e.url === 'token').valueUri as string;
  t.equal(tokenUrl, TOKEN_URL, 'the token endpoint beside the FHIR base');
  const granted = await app.inject({
    method: 'POST',
    url: new URL(tokenUrl).pathname,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion('admin', { aud: tokenUrl }),
      scope: 'system/Patient.rs',
    }).toString(),
  });
  t.equal(granted.statusCode, 200, 'the advertised token endpoint grants a token');
  t.equal(patient.updateCreate, true);
  t.equal(patient.conditionalCreate, true);
  t.equal(patient.conditionalDelete, 'single');
  t.ok(patient.operation.some((o: any) => o.name === 'validate'), '$validate is listed');
  t.ok(rest.interaction.some((i: any) => i.code === 'history-system'));
  t.match(cs.implementation.url, /\/fhir$/);

  const pretty = await request({ method: 'GET', url: '/fhir/metadata?_pretty=true' });
  t.match(pretty.body, /^\{\n {2}"resourceType"/, '_pretty indents');
  const asJson = await request({ method: 'GET', url: '/fhir/metadata?_format=json' });
  t.match(asJson.headers['content-type'], /^application\/fhir\+json/);
  const plainJson = await request({ method: 'GET', url: '/fhir/metadata', headers: { accept: 'application/json' } });
  t.match(plainJson.headers['content-type'], /^application\/json/, 'Accept application/json is honoured');
});

t.test(`health endpoints on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const live = await request({ method: 'GET', url: '/healthz' });
  t.equal(live.statusCode, 200);
  const ready = await request({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().database, engine);
});
