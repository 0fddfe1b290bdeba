/**
 * R4's own SearchParameters, StructureDefinitions, ValueSets and CodeSystems are served from the
 * loaded definitions (definitions/built-in-definitions.ts) beside the stored ones: read, vread,
 * history, and search by _id, url, name, status, version (and base, code, type for
 * SearchParameter) with _count paging. They are read-only.
 */
import t from 'tap';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

function ids(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((e) => e.resource?.id as string);
}

t.test(`R4 definitions are served without being stored on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const get = async (url: string): Promise<{ status: number; body: any }> => {
    const response = await request({ method: 'GET', url: `/fhir/${url}` });
    return { status: response.statusCode, body: response.json() };
  };

  t.test('read, vread and history by id', async (t) => {
    const identifier = await get('SearchParameter/Patient-identifier');
    t.equal(identifier.status, 200);
    t.equal(identifier.body.url, 'http://hl7.org/fhir/SearchParameter/Patient-identifier');
    t.equal(identifier.body.meta.versionId, '1');
    const patient = await get('StructureDefinition/Patient');
    t.equal(patient.status, 200);
    t.equal(patient.body.type, 'Patient');
    t.equal(patient.body.kind, 'resource');
    t.equal((await get('StructureDefinition/HumanName')).body.kind, 'complex-type', 'data types too');
    t.equal((await get('ValueSet/administrative-gender')).body.url, 'http://hl7.org/fhir/ValueSet/administrative-gender');
    t.equal((await get('CodeSystem/administrative-gender')).body.url, 'http://hl7.org/fhir/administrative-gender');
    t.equal((await get('StructureDefinition/Patient/_history/1')).status, 200, 'vread of version 1');
    t.equal((await get('StructureDefinition/Patient/_history/2')).status, 404, 'no other version');
    const history = await get('SearchParameter/Patient-identifier/_history');
    t.equal(history.status, 200);
    t.equal(history.body.entry.length, 1);
    t.equal((await get('SearchParameter/Patient-no-such-thing')).status, 404, 'an unknown id is still 404');
  });

  t.test('search by url, base and code, name, status, version, _id', async (t) => {
    t.same(ids((await get('SearchParameter?url=http://hl7.org/fhir/SearchParameter/Patient-identifier')).body), ['Patient-identifier']);
    t.same(ids((await get('SearchParameter?base=Patient&code=identifier')).body), ['Patient-identifier']);
    const tokens = (await get('SearchParameter?base=Observation&type=token&_count=500')).body as Bundle;
    t.ok(tokens.entry?.every((e) => (e.resource as SearchParameter).type === 'token' && (e.resource as SearchParameter).base.includes('Observation')));
    t.ok(ids(tokens).includes('clinical-code'), 'a parameter of several bases');
    t.same(ids((await get('StructureDefinition?url=http://hl7.org/fhir/StructureDefinition/Patient')).body), ['Patient']);
    t.same(ids((await get('ValueSet?url=http://hl7.org/fhir/ValueSet/administrative-gender')).body), ['administrative-gender']);
    t.same(ids((await get('CodeSystem?url=http://hl7.org/fhir/administrative-gender')).body), ['administrative-gender']);
    t.same(ids((await get('StructureDefinition?name=patient&_id=Patient,Observation')).body), ['Patient'], 'name matches at the start, case-insensitively');
    t.same(ids((await get('StructureDefinition?_id=Patient&status=active&version=4.0.1')).body), ['Patient']);
    t.same(ids((await get('StructureDefinition?_id=Patient&status=retired')).body), []);
    const both = (await get('SearchParameter?code=author,discipline&_count=50')).body as Bundle;
    t.ok(ids(both).includes('logbook-author'), 'Schakel\'s stored SearchParameters come with R4\'s');
    t.ok(ids(both).includes('Observation-performer') === false);
    t.ok(ids(both).includes('DocumentReference-author'), 'R4 parameters with the code');
  });

  t.test('_count pages through the merged list', async (t) => {
    const first = (await get('SearchParameter?base=Patient&_count=5')).body as Bundle;
    t.equal(first.entry?.length, 5);
    t.ok((first.total ?? 0) > 20, 'total counts every match');
    const next = first.link?.find((l) => l.relation === 'next')?.url;
    t.ok(next, 'a next link');
    const second = (await get(new URL(next as string).pathname.replace(/^\/fhir\//, '') + new URL(next as string).search)).body as Bundle;
    t.equal(second.entry?.length, 5);
    t.same(ids(first).filter((id) => ids(second).includes(id)), [], 'no entry twice');
    t.equal((await get('SearchParameter?base=Patient&_count=0')).body.total, first.total, '_count=0 gives the total only');
  });

  t.test('clients cannot write them', async (t) => {
    const identifier = (await get('SearchParameter/Patient-identifier')).body;
    assertIssue(t, await request({ method: 'PUT', url: '/fhir/SearchParameter/Patient-identifier', body: { ...identifier, description: 'Anders' } }), 403, 'forbidden');
    assertIssue(t, await request({ method: 'DELETE', url: '/fhir/StructureDefinition/Patient' }), 403, 'forbidden');
    const { id: _id, meta: _meta, ...copy } = identifier;
    assertIssue(t, await request({ method: 'POST', url: '/fhir/SearchParameter', body: copy }), 403, 'forbidden', 'SearchParameter.url');
    t.equal((await get('SearchParameter?url=http://hl7.org/fhir/SearchParameter/Patient-identifier')).body.total, 1, 'still exactly one');
  });
});
