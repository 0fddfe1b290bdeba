// A professional who registers a Patient can read it afterwards: the creator's organisation becomes
// a care relation as visible data (auth/creator-relation.ts), and nobody else gains anything.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario } from '../helpers/care-scenario.js';
import { BSN, type Json } from '../helpers/search.js';

type Who = 'gp' | 'physio' | 'nurse' | 'admin';

t.test(`the creator of a Patient keeps access to it on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const get = (url: string, as: Who) => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  const post = (body: Json, as: Who) => app.request({ method: 'POST', url: '/fhir/Patient', body, as });

  t.test('without managingOrganization: the creator\'s organisation manages the record', async (t) => {
    const created = await post({ resourceType: 'Patient', identifier: [{ system: BSN, value: '999900109' }], name: [{ family: 'Nieuw' }] }, 'physio');
    t.equal(created.statusCode, 201);
    const id = created.json().id;
    t.same(created.json().managingOrganization, { reference: 'Organization/t-physio' }, 'recorded on the Patient itself');
    t.equal((await get(`Patient/${id}`, 'physio')).statusCode, 200, 'the creator reads it');
    t.same((await get('Patient?name=nieuw', 'physio')).json().entry?.map((e: Json) => e.resource.id), [id], 'and finds it');
    t.equal((await get(`Patient/${id}`, 'nurse')).statusCode, 404, 'another organisation does not');
    t.equal((await get('Patient?name=nieuw&_total=accurate', 'nurse')).json().total, 0);

    const ended = await app.request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...((await get(`Patient/${id}`, 'admin')).json<Json>()), managingOrganization: { reference: 'Organization/t-gp' } }, as: 'admin' });
    t.equal(ended.statusCode, 200, 'an administrator moves the record');
    t.equal((await get(`Patient/${id}`, 'physio')).statusCode, 404, 'and the relation ends with it');
  });

  t.test('with another managingOrganization: a registration CareTeam relates the creator', async (t) => {
    const created = await post({ resourceType: 'Patient', name: [{ family: 'Elders' }], managingOrganization: { reference: 'Organization/t-gp' } }, 'nurse');
    t.equal(created.statusCode, 201);
    const id = created.json().id;
    t.same(created.json().managingOrganization, { reference: 'Organization/t-gp' }, 'the custodian the client named stays');
    t.equal((await get(`Patient/${id}`, 'nurse')).statusCode, 200, 'the creator reads it');
    t.equal((await get(`Patient/${id}`, 'gp')).statusCode, 200, 'so does the managing organisation');
    t.equal((await get(`Patient/${id}`, 'physio')).statusCode, 404, 'others do not');
    const teams = (await get(`CareTeam?subject=Patient/${id}`, 'admin')).json().entry.map((e: Json) => e.resource);
    t.equal(teams.length, 1, 'one registration CareTeam, visible to an administrator');
    t.same(teams[0].participant.map((p: Json) => p.member.reference), ['Organization/t-nurse']);
    const end = await app.request({ method: 'PUT', url: `/fhir/CareTeam/${teams[0].id}`, body: { ...teams[0], status: 'inactive' }, as: 'admin' });
    t.equal(end.statusCode, 200, 'which an administrator can end');
    t.equal((await get(`Patient/${id}`, 'nurse')).statusCode, 404, 'ending it ends the access');
  });

  t.test('a Patient created by update (PUT to a new id) relates its creator too', async (t) => {
    const created = await app.request({ method: 'PUT', url: '/fhir/Patient/p-put', body: { resourceType: 'Patient', id: 'p-put', name: [{ family: 'Geplaatst' }] }, as: 'physio' });
    t.equal(created.statusCode, 201);
    t.equal((await get('Patient/p-put', 'physio')).statusCode, 200, 'the creator reads it');
    t.equal((await get('Patient/p-put', 'nurse')).statusCode, 404, 'another organisation does not');
  });

  t.test('a system client creates as before', async (t) => {
    const created = await post({ resourceType: 'Patient', name: [{ family: 'Systeem' }] }, 'admin');
    t.equal(created.statusCode, 201);
    t.notOk(created.json().managingOrganization, 'no organisation is made up');
    t.equal((await get(`CareTeam?subject=Patient/${created.json().id}&_summary=count`, 'admin')).json().total, 0);
  });
});
