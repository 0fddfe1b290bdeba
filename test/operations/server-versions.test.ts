// $versions (capabilitystatement-operation-versions.html): R4 only, 4.0 and default 4.0.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import type { Json } from '../helpers/search.js';

t.test(`GET [base]/$versions on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const response = await request({ method: 'GET', url: '/fhir/$versions', headers: { accept: 'application/fhir+json' } });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^application\/fhir\+json/);
  const body = response.json();
  t.equal(body.resourceType, 'Parameters');
  t.same(body.parameter, [
    { name: 'version', valueCode: '4.0' },
    { name: 'default', valueCode: '4.0' },
  ]);
  const asJson = await request({ method: 'GET', url: '/fhir/$versions?_format=json' });
  t.equal(asJson.statusCode, 200);
  t.equal(asJson.json().resourceType, 'Parameters');
  const posted = await request({ method: 'POST', url: '/fhir/$versions', body: { resourceType: 'Parameters' } });
  t.equal(posted.statusCode, 200, 'POST with an empty Parameters');
  t.equal(posted.json().parameter.length, 2);

  const unknown = await request({ method: 'GET', url: '/fhir/$versions?version=3.0' });
  t.equal(unknown.statusCode, 400);
  t.equal(unknown.json().issue[0].code, 'invalid', 'an undeclared parameter (the OperationDefinition declares none)');

  const statement = (await app.inject({ method: 'GET', url: '/fhir/metadata' })).json();
  const listed = (statement.rest[0].operation as Json[]).find((o) => o.name === 'versions');
  t.equal(listed?.definition, 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions', 'listed in the CapabilityStatement');
});
