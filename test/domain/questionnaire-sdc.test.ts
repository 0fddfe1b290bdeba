/**
 * SDC forms on completion of a response: calculated read-only items filled and checked, variables
 * and initialExpression, and observation-based extraction stored with the response (and updated,
 * not duplicated, when the response is amended). Through HTTP, with a Questionnaire written here.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';
import { patient } from '../helpers/outcomes.js';
import { put, type Json } from '../helpers/search.js';
import { answerIn, EXTRACT_ID, lifestyleQuestionnaire, lifestyleResponse, LOINC, TEST_CS } from '../helpers/sdc-forms.js';

t.test(`SDC calculations and extraction on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const { request } = app;
  await patient(app, 'sdc-p1');
  await put(app, lifestyleQuestionnaire);
  const post = async (body: unknown) => {
    const response = await request({ method: 'POST', url: '/fhir/QuestionnaireResponse', body });
    t.equal(response.statusCode, 201, response.statusCode === 201 ? 'stored' : response.body);
    return response.json();
  };
  const read = async (id: string) => (await request({ method: 'GET', url: `/fhir/QuestionnaireResponse/${id}` })).json();
  const extracted = async (responseId: string): Promise<Map<string, Json>> => {
    const body = (await request({ method: 'GET', url: `/fhir/Observation?derived-from=QuestionnaireResponse/${responseId}&_count=100` })).json();
    const byCode = new Map<string, Json>();
    for (const { resource } of body.entry ?? []) {
      if (resource.identifier?.[0]?.system === EXTRACT_ID) {
        t.notOk(byCode.has(resource.code.coding[0].code), `one Observation of ${resource.code.coding[0].code}`);
        byCode.set(resource.code.coding[0].code, resource);
      }
    }
    return byCode;
  };

  t.test('calculated items the client left out are filled in the stored response', async (t) => {
    const created = await post(lifestyleResponse('Patient/sdc-p1', { weight: 80, height: 180, q: [1, 2, 3], walk: 3, sport: 2 }));
    for (const body of [created, await read(created.id)]) {
      t.same(answerIn(body, 'bmi'), { valueDecimal: 24.7 }, 'BMI from the root variables: 80 / 1.8², one decimal');
      t.same(answerIn(body, 'total'), { valueInteger: 6 }, 'total 1 + 2 + 3');
      t.same(answerIn(body, 'active-days'), { valueInteger: 5 }, 'from the group variables: 3 + 2');
      t.same(answerIn(body, 'form-version'), { valueString: '1.0.0' }, 'initialExpression of a read-only item');
    }
    t.same(
      created.item.map((i: Json) => i.linkId),
      ['weight', 'height', 'bmi', 'q1', 'q2', 'q3', 'total', 'activity', 'form-version'],
      'filled items stand in the Questionnaire order'
    );
    t.same(
      created.item.find((i: Json) => i.linkId === 'activity').item.map((i: Json) => i.linkId),
      ['walk-days', 'sport-days', 'active-days']
    );
  });

  t.test('what cannot be calculated stays absent', async (t) => {
    const created = await post(lifestyleResponse('Patient/sdc-p1', { weight: 80, q: [1, 2, 3] }));
    t.equal(answerIn(created, 'bmi'), undefined, 'no height: no BMI');
    t.same(answerIn(created, 'total'), { valueInteger: 6 });
    t.notOk(created.item.some((i: Json) => i.linkId === 'activity'), 'no group is made up for an unanswered one');
  });

  t.test('a response in progress is not calculated', async (t) => {
    const created = await post(lifestyleResponse('Patient/sdc-p1', { q: [1, 2, 3] }, { status: 'in-progress' }));
    t.equal(answerIn(created, 'total'), undefined);
    t.equal(answerIn(created, 'form-version'), undefined);
  });

  t.test('a client value that differs from the calculated one (or where none is calculated) is refused', async (t) => {
    const before = (await request({ method: 'GET', url: '/fhir/QuestionnaireResponse?subject=Patient/sdc-p1&_summary=count' })).json().total;
    const wrongTotal = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: lifestyleResponse('Patient/sdc-p1', { q: [1, 2, 3], calculated: [{ linkId: 'total', answer: [{ valueInteger: 7 }] }] }),
    });
    assertIssue(t, wrongTotal, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='total')");
    assertIssue(t, wrongTotal, 422, 'business-rule', 'QuestionnaireResponse.item[3]');

    const wrongBmi = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: lifestyleResponse('Patient/sdc-p1', { weight: 80, height: 180, calculated: [{ linkId: 'bmi', answer: [{ valueDecimal: 24.6 }] }] }),
    });
    assertIssue(t, wrongBmi, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='bmi')");

    const inGroup = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: {
        ...lifestyleResponse('Patient/sdc-p1', {}),
        item: [{ linkId: 'activity', item: [{ linkId: 'walk-days', answer: [{ valueInteger: 1 }] }, { linkId: 'sport-days', answer: [{ valueInteger: 1 }] }, { linkId: 'active-days', answer: [{ valueInteger: 3 }] }] }],
      },
    });
    assertIssue(t, inGroup, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='activity').item.where(linkId='active-days')");

    const noValue = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: { ...lifestyleResponse('Patient/sdc-p1', {}), item: [{ linkId: 'q1', answer: [{ valueInteger: 1 }] }, { linkId: 'total', answer: [{ valueInteger: 1 }] }] },
    });
    assertIssue(t, noValue, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='total')");

    const after = (await request({ method: 'GET', url: '/fhir/QuestionnaireResponse?subject=Patient/sdc-p1&_summary=count' })).json().total;
    t.equal(after, before, 'nothing stored');
  });

  t.test('client values equal to the calculated ones are kept: decimals compare numerically', async (t) => {
    const created = await post(
      lifestyleResponse('Patient/sdc-p1', {
        weight: 80,
        height: 180,
        q: [1, 2, 3],
        calculated: [
          // 24.70 in exact decimals; 0.1 + 0.2 style rounding must not matter either.
          { linkId: 'bmi', answer: [{ valueDecimal: 24.700000000000003 }] },
          { linkId: 'total', answer: [{ valueInteger: 6 }] },
        ],
      })
    );
    t.same(answerIn(created, 'bmi'), { valueDecimal: 24.700000000000003 }, 'the client value stands');
  });

  t.test('observations are extracted on completion', async (t) => {
    await put(app, { resourceType: 'CarePlan', id: 'sdc-plan', status: 'active', intent: 'plan', subject: { reference: 'Patient/sdc-p1' } });
    await put(app, { resourceType: 'Practitioner', id: 'sdc-fysio', name: [{ family: 'Fysio' }] });
    const created = await post(
      lifestyleResponse('Patient/sdc-p1', { weight: 80, height: 180, q: [1, 2, 3], walk: 3, sport: 2 }, {
        basedOn: [{ reference: 'CarePlan/sdc-plan' }],
        author: { reference: 'Practitioner/sdc-fysio' },
      })
    );
    const observations = await extracted(created.id);
    t.same([...observations.keys()].sort(), ['29463-7', '39156-5', '8302-2', 'leefstijl-totaal'], 'coded items only; none of the group that switches extraction off');
    const weight = observations.get('29463-7');
    t.equal(weight.status, 'final');
    t.same(weight.code.coding, [{ system: LOINC, code: '29463-7', display: 'Body weight' }]);
    t.same(weight.valueQuantity, { value: 80, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' }, 'a decimal answer with its unit');
    t.same(weight.subject, { reference: 'Patient/sdc-p1' });
    t.equal(weight.effectiveDateTime, '2025-03-04T09:30:00+01:00', 'effective when authored');
    t.same(weight.performer, [{ reference: 'Practitioner/sdc-fysio' }], 'performed by the author');
    t.same(weight.derivedFrom, [{ reference: `QuestionnaireResponse/${created.id}` }]);
    t.same(weight.basedOn, [{ reference: 'CarePlan/sdc-plan' }]);
    t.same(weight.identifier, [{ system: EXTRACT_ID, value: `${created.id}#weight` }]);
    t.equal(observations.get('39156-5').valueQuantity.value, 24.7, 'the calculated BMI is extracted');
    t.equal(observations.get('leefstijl-totaal').valueInteger, 6, 'the calculated total is extracted');
    const valid = (await request({ method: 'GET', url: `/fhir/Observation/${weight.id}/$validate` })).json();
    t.same(valid.issue.filter((i: Json) => i.severity === 'error'), [], 'the Observation is valid R4');
    const provenance = (await request({ method: 'GET', url: `/fhir/Provenance?target=Observation/${weight.id}` })).json();
    t.equal(provenance.total ?? provenance.entry?.length, 1, 'written with a Provenance, as every write');
  });

  t.test('an amended response updates its Observations instead of adding more', async (t) => {
    const created = await post(lifestyleResponse('Patient/sdc-p1', { weight: 80, height: 180, q: [1, 2, 3] }));
    const first = await extracted(created.id);
    const amended = await request({
      method: 'PUT',
      url: `/fhir/QuestionnaireResponse/${created.id}`,
      body: { ...lifestyleResponse('Patient/sdc-p1', { weight: 81, height: 180, q: [1, 2] }), id: created.id, status: 'amended' },
    });
    t.equal(amended.statusCode, 200, amended.body);
    t.same(answerIn(amended.json(), 'bmi'), { valueDecimal: 25 }, 'recalculated: 81 / 3.24');
    t.equal(answerIn(amended.json(), 'total'), undefined, 'q3 is gone: no total');
    const second = await extracted(created.id);
    t.same([...second.keys()].sort(), [...first.keys()].sort(), 'the same Observations');
    const weight = second.get('29463-7');
    t.equal(weight.id, first.get('29463-7').id);
    t.equal(weight.meta.versionId, '2');
    t.equal(weight.status, 'amended');
    t.equal(weight.valueQuantity.value, 81);
    t.equal(second.get('8302-2').meta.versionId, '1', 'an unchanged answer adds no version');
    t.equal(second.get('39156-5').valueQuantity.value, 25);
    t.equal(second.get('leefstijl-totaal').status, 'entered-in-error', 'the total that is no longer there is withdrawn');
    const codes = (await request({ method: 'GET', url: `/fhir/Observation?derived-from=QuestionnaireResponse/${created.id}&code=${encodeURIComponent(`${TEST_CS}|leefstijl-totaal`)}` })).json();
    t.equal(codes.total ?? codes.entry.length, 1, 'no duplicate');

    const error = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${created.id}`, body: { ...amended.json<object>(), status: 'entered-in-error' } });
    t.equal(error.statusCode, 200);
    t.same([...(await extracted(created.id)).values()].map((o) => o.status), ['entered-in-error', 'entered-in-error', 'entered-in-error', 'entered-in-error']);
  });
});
