/**
 * The joint logbook Observation profiles (docs/care-workflows.md): blood pressure (LOINC 85354-9 with 8480-6 and
 * 8462-4), heart rate, body weight, hand-grip strength and the two-minute step test, each with
 * performer and category always present; valid and invalid examples per invariant.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertInvariant, bloodPressure, bodyWeight, handGrip, heartRate, LOINC, loadWorld, SD, stepTest, UCUM } from '../helpers/care.js';
import { assertIssue } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';

t.test(`logbook Observation profiles on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  const post = (body: Json) => app.request({ method: 'POST', url: '/fhir/Observation', body });
  const kpa = (value: number) => ({ value, unit: 'kPa', system: UCUM, code: 'kPa' });

  t.test('every profile has a valid example', async (t) => {
    for (const [name, body] of Object.entries({ bloodPressure: bloodPressure(), heartRate: heartRate(), bodyWeight: bodyWeight(), handGrip: handGrip(), stepTest: stepTest() })) {
      t.equal((await post(body)).statusCode, 201, name);
    }
    t.equal((await post(handGrip(22, { code: { coding: [{ system: LOINC, code: '83173-5' }] } }))).statusCode, 201, 'hand grip, left hand');
    t.equal((await post(bodyWeight(78400, { valueQuantity: { value: 78400, unit: 'g', system: UCUM, code: 'g' } }))).statusCode, 201, 'weight in grams');
    const generic = { ...heartRate(), meta: { profile: [`${SD}logbook-observation`] }, code: { text: 'Enkeloedeem' }, valueQuantity: undefined, valueString: 'Licht, beide enkels' };
    t.equal((await post(generic)).statusCode, 201, 'a free logbook entry on the base profile');
    t.equal((await post({ ...generic, valueString: undefined, dataAbsentReason: { text: 'Patiënt niet thuis' } })).statusCode, 201, 'no value, with a reason');
  });

  t.test('the base logbook entry: performer, category and a value', async (t) => {
    assertIssue(t, await post({ ...heartRate(), performer: undefined }), 422, 'structure', 'Observation.performer');
    assertIssue(t, await post({ ...heartRate(), category: undefined }), 422, 'structure', 'Observation.category');
    assertIssue(t, await post({ ...heartRate(), effectiveDateTime: undefined }), 422, 'structure', 'Observation.effective');
    const empty = { ...heartRate(), meta: { profile: [`${SD}logbook-observation`] }, valueQuantity: undefined };
    assertInvariant(t, await post(empty), 'sch-lb-1', 'Observation');
  });

  t.test('blood pressure', async (t) => {
    const bp = bloodPressure();
    assertInvariant(t, await post({ ...bp, component: [{ ...bp.component[0], valueQuantity: kpa(17) }, bp.component[1]] }), 'sch-bp-1', 'Observation');
    assertIssue(t, await post({ ...bp, component: [bp.component[0]] }), 422, 'structure', 'Observation.component');
    assertIssue(t, await post({ ...bp, code: { coding: [{ system: LOINC, code: '8867-4' }] } }), 422, 'structure', 'Observation.code');
    assertIssue(t, await post({ ...bp, valueQuantity: { value: 120, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' } }), 422, 'structure', 'Observation.valueQuantity');
    assertIssue(t, await post({ ...bp, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam' }] }] }), 422, 'structure', 'Observation.category');
  });

  t.test('heart rate, body weight, hand grip and step test units and codes', async (t) => {
    assertInvariant(t, await post(heartRate(72, { valueQuantity: { value: 72, unit: 'bpm', system: UCUM, code: 'bpm' } })), 'sch-hr-1', 'Observation');
    assertInvariant(t, await post(bodyWeight(170, { valueQuantity: { value: 170, unit: 'lb', system: UCUM, code: '[lb_av]' } })), 'sch-bw-1', 'Observation');
    assertInvariant(t, await post(handGrip(24, { code: { coding: [{ system: LOINC, code: '8867-4' }] } })), 'sch-hg-1', 'Observation');
    assertInvariant(t, await post(handGrip(24, { valueQuantity: { value: 50, unit: 'lbf', system: UCUM, code: '[lbf_av]' } })), 'sch-hg-2', 'Observation');
    assertInvariant(t, await post(stepTest(48, { valueQuantity: { value: 2, unit: 'min', system: UCUM, code: 'min' } })), 'sch-st-1', 'Observation');
    assertIssue(t, await post(stepTest(48, { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] })), 422, 'structure', 'Observation.category');
  });
});
