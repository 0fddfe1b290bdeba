/**
 * The Pain Triage profile (profiles/pain-triage.json, triage-deviation.json) over HTTP: valid and
 * invalid triages, each invalid one breaking one rule of a valid one, by create and by $validate.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertInvariant, loadWorld, referral, ROLE, SD, write } from '../helpers/care.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';
import { addRehabPhysician, deviation, painTriage, TRIAGE } from '../helpers/triage.js';

t.test(`Pain Triage profile on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  await addRehabPhysician(app);
  const triaged = await write(app, referral({ performerType: { coding: [{ system: ROLE, code: '01.042' }] }, performer: [{ reference: 'PractitionerRole/rehab' }], code: { coding: [{ system: TRIAGE, code: 'triage-request' }] }, extension: [{ url: `${SD}wpn-level`, valueInteger: 3 }] }));
  const id = triaged.id as string;
  const post = (body: Json) => app.request({ method: 'POST', url: '/fhir/Observation', body });
  const validate = (body: Json) => app.request({ method: 'POST', url: '/fhir/Observation/$validate', body });
  const errorsOf = async (body: Json) => issuesOf(await validate(body)).filter((i) => i.severity === 'error');

  t.test('valid triages are stored and validate clean', async (t) => {
    const valid: Array<[string, Json]> = [
      ['primary care tried, outpatient IMSR', painTriage(id)],
      ['referred back, nothing tried', painTriage(id, { wpn: '2', professionals: false, disciplines: [], education: false, activities: false, decision: 'refer-back' })],
      ['clinical IMSR at WPN 4, two disciplines', painTriage(id, { wpn: '4', decision: 'imsr-clinical', disciplines: [{ system: ROLE, code: '04.000' }, { system: ROLE, code: '94.000' }] })],
      ['a deviation from the team\'s advice with its reason', painTriage(id, { education: false, deviation: deviation('Pijneducatie volgt in het IMSR-programma') })],
      ['clinical IMSR at WPN 3 as a documented deviation', painTriage(id, { decision: 'imsr-clinical', deviation: deviation('Mantelzorg valt weg; poliklinisch niet haalbaar', 'imsr-outpatient') })],
    ];
    for (const [name, body] of valid) {
      const created = await post(body);
      t.equal(created.statusCode, 201, `create: ${name}`);
      t.same(await errorsOf(body), [], `$validate: ${name}`);
    }
    const stored = await app.request({ method: 'GET', url: `/fhir/Observation?based-on=ServiceRequest/${id}&code=${TRIAGE}|triage&_count=50` });
    t.equal(stored.json().entry.length, valid.length, 'searchable by referral and code');
  });

  t.test('invalid triages: 422 on create, the same invariant from $validate', async (t) => {
    const invalid: Array<[string, Json, string]> = [
      ['no WPN level', painTriage(id, { wpn: undefined }), 'sch-tri-1'],
      ['WPN level 5', painTriage(id, { wpn: '5' }), 'sch-tri-1'],
      ['pain education not answered', painTriage(id, { education: undefined }), 'sch-tri-2'],
      ['professionals involved without their disciplines', painTriage(id, { disciplines: [] }), 'sch-tri-3'],
      ['a discipline from another code system', painTriage(id, { disciplines: [{ system: 'http://snomed.info/sct', code: '36682004' }] }), 'sch-tri-4'],
      ['a decision that is not in the value set', painTriage(id, { decision: 'accept' }), 'sch-tri-5'],
      ['a decision without its reason', painTriage(id, { reason: undefined }), 'sch-tri-6'],
      ['a deviation without its reason', painTriage(id, { education: false, deviation: deviation(undefined) }), 'sch-tri-7'],
      ['a deviation that does not say whether it deviates', painTriage(id, { deviation: [{ url: 'reason', valueString: 'Wens van de patiënt' }] }), 'sch-tri-7'],
      ['clinical IMSR at WPN 3 without a deviation', painTriage(id, { decision: 'imsr-clinical' }), 'sch-tri-8'],
    ];
    for (const [name, body, key] of invalid) {
      t.test(name, async (t) => {
        assertInvariant(t, await post(body), key, 'Observation');
        const errors = await errorsOf(body);
        t.ok(errors.some((i) => i.code === 'invariant' && (i as { details?: { coding?: Array<{ code: string }> } }).details?.coding?.some((c) => c.code === key)), `$validate reports ${key}`);
      });
    }
  });

  t.test('the code systems, value sets and profiles are served, read-only', async (t) => {
    const get = (url: string) => app.request({ method: 'GET', url });
    const expand = async (url: string) => (await get(`/fhir/ValueSet/$expand?url=${url}`)).json().expansion.contains.map((c: Json) => [c.code, c.display]);
    t.same(await expand('http://schakel.nl/fhir/ValueSet/triage-decision'), [
      ['imsr-outpatient', 'Accepteren voor poliklinische IMSR'],
      ['imsr-clinical', 'Accepteren voor klinische IMSR'],
      ['refer-back', 'Terugverwijzen naar de eerste lijn'],
    ]);
    t.same((await expand('http://schakel.nl/fhir/ValueSet/wpn-level')).map((c: string[]) => c[0]), ['1', '2', '3', '4']);
    t.same((await expand('http://schakel.nl/fhir/ValueSet/primary-care-tried')).map((c: string[]) => c[0]), ['professionals-involved', 'pain-education', 'activities-participation']);
    for (const url of ['/fhir/CodeSystem/pain-triage', '/fhir/CodeSystem/wpn-level', '/fhir/StructureDefinition/pain-triage', '/fhir/StructureDefinition/triage-deviation']) {
      t.equal((await get(url)).statusCode, 200, url);
    }
    const system = (await get('/fhir/CodeSystem/pain-triage')).json();
    const changed = await app.request({ method: 'PUT', url: '/fhir/CodeSystem/pain-triage', body: { ...system, title: 'Een andere titel' } });
    t.equal(changed.statusCode, 403, 'a client cannot change a shipped code system');
  });

  t.test('structure: the referral, performer and code are required', async (t) => {
    const { basedOn: _b, ...withoutReferral } = painTriage(id);
    assertIssue(t, await post(withoutReferral), 422, 'structure', 'Observation.basedOn');
    const { performer: _p, ...withoutPerformer } = painTriage(id);
    assertIssue(t, await post(withoutPerformer), 422, 'structure', 'Observation.performer');
    assertIssue(t, await post(painTriage(id, {}, { value: undefined, valueString: 'WPN 3' })), 422, 'structure', 'Observation.valueString');
  });
});
