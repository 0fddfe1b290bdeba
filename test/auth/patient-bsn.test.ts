// One active Patient per BSN, the eleven-test on every BSN a write carries, and what a professional
// is told when the person they register already has a record they may not see (auth/patient-bsn.ts).
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario } from '../helpers/care-scenario.js';
import { BSN, type Json } from '../helpers/search.js';

type Who = 'gp' | 'physio' | 'nurse' | 'admin';

const patient = (bsn: string, family: string, extra: Json = {}): Json => ({
  resourceType: 'Patient',
  identifier: [{ system: BSN, value: bsn }],
  name: [{ family }],
  ...extra,
});

t.test(`BSN rules on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const post = (body: Json, as: Who, headers: Record<string, string> = {}) => app.request({ method: 'POST', url: '/fhir/Patient', body, as, headers });
  const get = (url: string, as: Who | 'auditor') => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  const count = async (bsn: string): Promise<number> => (await get(`Patient?identifier=${BSN}|${bsn}&_summary=count`, 'admin')).json().total;

  t.test('the eleven-test on every BSN in a write', async (t) => {
    const wrong = await post(patient('123456789', 'Elf'), 'admin');
    t.equal(wrong.statusCode, 422, '123456789 fails the eleven-test');
    t.equal(wrong.json().issue[0].code, 'value');
    t.same(wrong.json().issue[0].expression, ['Patient.identifier[0].value']);
    t.equal((await post(patient('99990001', 'Elf'), 'admin')).statusCode, 422, 'eight digits');
    const reference = await app.request({
      method: 'POST',
      url: '/fhir/Observation',
      as: 'admin',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { identifier: { system: BSN, value: '123456789' } } },
    });
    t.equal(reference.statusCode, 422, 'also in a reference by identifier');
    t.same(reference.json().issue[0].expression, ['Observation.subject.identifier.value']);
    const search = await get(`Patient?identifier=${BSN}|123456789`, 'admin');
    t.equal(search.statusCode, 200, 'searches are not refused');
    t.equal(await count('123456789'), 0, 'nothing was stored');
  });

  t.test('a second Patient with a BSN the caller can see: 409 duplicate, or 200 for If-None-Exist', async (t) => {
    const first = await post(patient('999900043', 'Dubbel'), 'gp');
    t.equal(first.statusCode, 201);
    const id = first.json().id;
    const again = await post(patient('999900043', 'Dubbel'), 'gp');
    t.equal(again.statusCode, 409, 'a plain duplicate create');
    t.equal(again.json().issue[0].code, 'duplicate');
    const admin = await post(patient('999900043', 'Dubbel'), 'admin');
    t.equal(admin.statusCode, 409, 'also for a system client');
    t.equal(admin.json().issue[0].code, 'duplicate');
    const conditional = await post(patient('999900043', 'Dubbel'), 'gp', { 'if-none-exist': `identifier=${BSN}|999900043` });
    t.equal(conditional.statusCode, 200, 'If-None-Exist finds the existing one');
    t.equal(conditional.json().id, id);
    t.equal(await count('999900043'), 1);

    const inactive = await post(patient('999900043', 'Dubbel', { active: false }), 'admin');
    t.equal(inactive.statusCode, 201, 'an inactive Patient claims no BSN');
    const reactivate = await app.request({ method: 'PUT', url: `/fhir/Patient/${inactive.json().id}`, body: { ...(inactive.json<Json>()), active: true }, as: 'admin' });
    t.equal(reactivate.statusCode, 409, 'but cannot become active beside the other');
    const other = await post(patient('999900055', 'Ander'), 'admin');
    const takeOver = await app.request({ method: 'PUT', url: `/fhir/Patient/${other.json().id}`, body: { ...(other.json<Json>()), identifier: [{ system: BSN, value: '999900043' }] }, as: 'admin' });
    t.equal(takeOver.statusCode, 409, 'an update cannot take a BSN another Patient holds');
    const retire = await app.request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...(first.json<Json>()), active: false }, as: 'admin' });
    t.equal(retire.statusCode, 200);
    t.equal((await app.request({ method: 'PUT', url: `/fhir/Patient/${inactive.json().id}`, body: { ...(inactive.json<Json>()), active: true }, as: 'admin' })).statusCode, 200, 'once the first is inactive the other may take over');
  });

  t.test('a BSN registered by another care provider: 409 that says how to gain access, audited, nothing created', async (t) => {
    const first = await post(patient('999900067', 'Verborgen'), 'gp');
    t.equal(first.statusCode, 201);
    const id = first.json().id;
    const variants: Array<Record<string, string>> = [{}, { 'if-none-exist': `identifier=${BSN}|999900067` }];
    for (const headers of variants) {
      const refused = await post(patient('999900067', 'Verborgen'), 'physio', headers);
      t.equal(refused.statusCode, 409, `refused (${Object.keys(headers).join() || 'plain create'})`);
      t.equal(refused.json().resourceType, 'OperationOutcome');
      t.equal(refused.json().issue[0].code, 'forbidden');
      t.notOk(refused.body.includes(id), 'the answer does not name the record');
    }
    t.equal(await count('999900067'), 1, 'no second Patient');
    const audit = (await get(`AuditEvent?patient=Patient/${id}&action=C&_sort=-date&_count=10`, 'auditor')).json();
    const refusals = (audit.entry ?? []).map((e: Json) => e.resource).filter((e: Json) => e.outcome === '4' && e.outcomeDesc === 'forbidden');
    t.equal(refusals.length, 2, 'both attempts are in the patient\'s access log as refused');
    t.ok(refusals.every((e: Json) => e.entity.some((x: Json) => x.what?.reference === `Patient/${id}`)));
  });

  t.test('two Patients with one BSN in one transaction: the database refuses the second', async (t) => {
    const entry = (family: string): Json => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: patient('999900110', family), request: { method: 'POST', url: 'Patient' } });
    const response = await app.request({ method: 'POST', url: '/fhir', as: 'admin', body: { resourceType: 'Bundle', type: 'transaction', entry: [entry('Een'), entry('Twee')] } });
    t.equal(response.statusCode, 409);
    t.equal(response.json().issue[0].code, 'duplicate');
    t.equal(await count('999900110'), 0, 'the transaction wrote nothing');
  });

  t.test('20 parallel creates of one BSN from two organisations leave one Patient', async (t) => {
    const who = (i: number): Who => (i % 2 === 0 ? 'gp' : 'nurse');
    const plain = await Promise.all(Array.from({ length: 20 }, (_, i) => post(patient('999900080', `Race${i}`), who(i))));
    const statuses = plain.map((r) => r.statusCode).sort();
    t.same(statuses, [201, ...Array<number>(19).fill(409)], 'one 201, everyone else 409, no 5xx');
    t.equal(await count('999900080'), 1, 'exactly one Patient with that BSN');

    const conditional = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(patient('999900092', `Race${i}`), who(i), { 'if-none-exist': `identifier=${BSN}|999900092` }))
    );
    const created = conditional.findIndex((r) => r.statusCode === 201);
    t.ok(created >= 0, 'one conditional create created it');
    conditional.forEach((r, i) => {
      if (i !== created) {
        t.equal(r.statusCode, who(i) === who(created) ? 200 : 409, `${who(i)}: the creator's organisation finds it, the other is refused`);
      }
    });
    t.equal(await count('999900092'), 1, 'exactly one Patient with that BSN');
  });
});
