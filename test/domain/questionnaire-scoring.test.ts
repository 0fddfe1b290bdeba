import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';
import { NRS, PAIN, patient, PDI, pdiResponse, nrsResponse, scoresOf } from '../helpers/outcomes.js';
import { put } from '../helpers/search.js';

const SCORE = 'http://schakel.nl/fhir/StructureDefinition/questionnaire-score';

/** A client's short instrument whose missing-item rule differs per version: v1 none missing, v2 one (prorated). */
function shortForm(version: string, maxMissing: number, expression: string) {
  return {
    resourceType: 'Questionnaire',
    id: `kort-${version.replace(/\./g, '-')}`,
    url: 'http://schakel.test/fhir/Questionnaire/kort',
    version,
    status: 'active',
    extension: [
      {
        url: SCORE,
        extension: [
          { url: 'code', valueCoding: { system: 'http://schakel.test/cs', code: 'kort-totaal' } },
          { url: 'expression', valueExpression: { language: 'text/fhirpath', expression } },
          { url: 'item', valueString: 'a' },
          { url: 'item', valueString: 'b' },
          { url: 'item', valueString: 'c' },
          { url: 'maxMissing', valueInteger: maxMissing },
        ],
      },
    ],
    item: ['a', 'b', 'c'].map((linkId) => ({ linkId, text: linkId, type: 'integer' })),
  };
}

t.test(`scores are stored as Observations on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const { request } = app;
  await patient(app, 'p1');
  const post = async (body: unknown) => {
    const response = await request({ method: 'POST', url: '/fhir/QuestionnaireResponse', body });
    t.equal(response.statusCode, 201, response.statusCode === 201 ? 'stored' : response.body);
    return response.json();
  };

  t.test('a complete PDI gets its total', async (t) => {
    const qr = await post(pdiResponse('Patient/p1', [3, 4, 5, 6, 2, 1, 0]));
    const [score, ...more] = await scoresOf(app, qr.id, 'pdi-total');
    t.same(more, [], 'one Observation');
    t.equal(score.status, 'final');
    t.same(score.code.coding, [{ system: PAIN, code: 'pdi-total', display: 'PDI totaalscore' }]);
    t.equal(score.valueQuantity.value, 21, '3+4+5+6+2+1+0');
    t.equal(score.valueQuantity.code, '{score}');
    t.same(score.subject, { reference: 'Patient/p1' });
    t.equal(score.effectiveDateTime, '2025-01-08T10:00:00+01:00', 'effective when the response was authored');
    t.same(score.derivedFrom, [{ reference: `QuestionnaireResponse/${qr.id}` }]);
    t.equal(score.category[0].coding[0].code, 'survey');
    t.same(score.extension, [{ url: 'http://schakel.nl/fhir/StructureDefinition/observation-questionnaire', valueCanonical: PDI }], 'the Questionnaire version');
    const valid = (await request({ method: 'GET', url: `/fhir/Observation/${score.id}/$validate` })).json();
    t.same(valid.issue.filter((i: any) => i.severity === 'error'), [], 'the Observation is valid R4');
    const search = (await request({ method: 'GET', url: `/fhir/Observation?derived-from=QuestionnaireResponse/${qr.id}&code=${encodeURIComponent(`${PAIN}|pdi-total`)}` })).json();
    t.equal(search.total, 1, 'found by derived-from and code');
  });

  t.test('an incomplete PDI has no total but a dataAbsentReason', async (t) => {
    const qr = await post(pdiResponse('Patient/p1', [3, 4, null, 6, null, 1, 0]));
    const [score] = await scoresOf(app, qr.id, 'pdi-total');
    t.equal(score.status, 'final');
    t.notOk(score.valueQuantity, 'no value');
    t.equal(score.dataAbsentReason.coding[0].code, 'unknown');
    t.match(score.dataAbsentReason.text, /pdi-3, pdi-5/);
  });

  t.test('amending a response updates its score', async (t) => {
    const qr = await post(pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, null]));
    const [before] = await scoresOf(app, qr.id, 'pdi-total');
    t.notOk(before.valueQuantity);
    const amended = await request({
      method: 'PUT',
      url: `/fhir/QuestionnaireResponse/${qr.id}`,
      body: { ...pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 9]), id: qr.id, status: 'amended' },
    });
    t.equal(amended.statusCode, 200);
    const [after, ...more] = await scoresOf(app, qr.id, 'pdi-total');
    t.same(more, []);
    t.equal(after.id, before.id, 'the same Observation');
    t.equal(after.meta.versionId, '2');
    t.equal(after.status, 'amended');
    t.equal(after.valueQuantity.value, 15);
    t.notOk(after.dataAbsentReason);

    const later = await request({
      method: 'PUT',
      url: `/fhir/QuestionnaireResponse/${qr.id}`,
      body: { ...pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 2]), id: qr.id, status: 'amended' },
    });
    t.equal(later.statusCode, 200);
    const [again] = await scoresOf(app, qr.id, 'pdi-total');
    t.equal(again.valueQuantity.value, 8, 'any later update rescores');
    t.equal(again.meta.versionId, '3');

    const unchanged = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${qr.id}`, body: { ...later.json<object>(), authored: again.effectiveDateTime } });
    t.equal(unchanged.statusCode, 200);
    t.equal((await scoresOf(app, qr.id, 'pdi-total'))[0].meta.versionId, '3', 'an unchanged score adds no version');

    const error = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${qr.id}`, body: { ...later.json<object>(), status: 'entered-in-error' } });
    t.equal(error.statusCode, 200);
    t.equal((await scoresOf(app, qr.id, 'pdi-total'))[0].status, 'entered-in-error', 'a response in error takes its score along');
  });

  t.test('a response is scored once it is completed', async (t) => {
    const qr = await post(pdiResponse('Patient/p1', [2, 2, 2, null, null, null, null], { status: 'in-progress' }));
    t.same(await scoresOf(app, qr.id, 'pdi-total'), [], 'nothing while in progress');
    const done = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${qr.id}`, body: { ...pdiResponse('Patient/p1', [2, 2, 2, 2, 2, 2, 2]), id: qr.id } });
    t.equal(done.statusCode, 200);
    const [score] = await scoresOf(app, qr.id, 'pdi-total');
    t.equal(score.status, 'final');
    t.equal(score.valueQuantity.value, 14);
  });

  t.test('the NRS is scored with its LOINC code', async (t) => {
    const qr = await post(nrsResponse('Patient/p1', 7));
    const [score] = await scoresOf(app, qr.id, '72514-3');
    t.same(score.code.coding[0], { system: 'http://loinc.org', code: '72514-3', display: 'Pain severity - 0-10 verbal numeric rating [Score] - Reported' });
    t.equal(score.valueQuantity.value, 7);
    t.same(score.extension[0].valueCanonical, NRS);
  });

  t.test('the missing-item rule is data of each Questionnaire version', async (t) => {
    // v2 prorates: the mean of the answered items times three.
    await put(app, shortForm('1.0.0', 0, "item.where(linkId='a').answer.value + item.where(linkId='b').answer.value + item.where(linkId='c').answer.value"));
    const answered = (l: string) => `iif(item.where(linkId='${l}').answer.value.exists(), item.where(linkId='${l}').answer.value, 0)`;
    await put(app, shortForm('2.0.0', 1, `((${answered('a')} + ${answered('b')} + ${answered('c')}) * 3 / item.answer.value.count()).round(1)`));
    const answers = [{ linkId: 'a', answer: [{ valueInteger: 4 }] }, { linkId: 'c', answer: [{ valueInteger: 6 }] }];
    const base = { resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: 'Patient/p1' }, authored: '2025-02-01', item: answers };
    const v1 = await post({ ...base, questionnaire: 'http://schakel.test/fhir/Questionnaire/kort|1.0.0' });
    const v2 = await post({ ...base, questionnaire: 'http://schakel.test/fhir/Questionnaire/kort|2.0.0' });
    const [s1] = await scoresOf(app, v1.id, 'kort-totaal');
    const [s2] = await scoresOf(app, v2.id, 'kort-totaal');
    t.notOk(s1.valueQuantity, 'v1 allows no missing item');
    t.equal(s2.valueQuantity.value, 15, 'v2 prorates: (4 + 6) / 2 * 3');
    t.equal(s1.extension[0].valueCanonical, 'http://schakel.test/fhir/Questionnaire/kort|1.0.0');
    t.equal(s2.extension[0].valueCanonical, 'http://schakel.test/fhir/Questionnaire/kort|2.0.0', 'each score names its version');
  });

  t.test('responses written in a transaction are scored in it', async (t) => {
    const bundle = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:7d1c0f0e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Nieuw' }] }, request: { method: 'POST', url: 'Patient' } },
          {
            resource: pdiResponse('urn:uuid:7d1c0f0e-0000-4000-8000-000000000001', [5, 5, 5, 5, 5, 5, 5]),
            request: { method: 'POST', url: 'QuestionnaireResponse' },
          },
        ],
      },
    });
    t.equal(bundle.statusCode, 200, bundle.statusCode === 200 ? 'committed' : bundle.body);
    const id = /QuestionnaireResponse\/([^/]+)\//.exec(bundle.json().entry[1].response.location)![1]!;
    const [score] = await scoresOf(app, id, 'pdi-total');
    t.equal(score.valueQuantity.value, 35);
    t.equal(score.subject.reference, `Patient/${bundle.json().entry[0].resource.id}`, 'the urn:uuid subject resolved');
  });

  t.test('the PDI also carries its total as an SDC calculated item', async (t) => {
    const qr = await post(pdiResponse('Patient/p1', [3, 4, 5, 6, 2, 1, 0]));
    const total = qr.item.find((i: any) => i.linkId === 'pdi-total');
    t.same(total, { linkId: 'pdi-total', answer: [{ valueInteger: 21 }] }, 'filled in: the same 21 as the score');
    const [score, ...more] = await scoresOf(app, qr.id, 'pdi-total');
    t.same(more, [], 'still one Observation of the total: the extracted item is the score');
    t.equal(score.valueQuantity.value, 21);
    const derived = (await request({ method: 'GET', url: `/fhir/Observation?derived-from=QuestionnaireResponse/${qr.id}` })).json();
    t.equal(derived.entry.length, 1, 'no other Observations');

    const incomplete = await post(pdiResponse('Patient/p1', [3, 4, null, 6, 2, 1, 0]));
    t.notOk(incomplete.item.some((i: any) => i.linkId === 'pdi-total'), 'no total while an item is missing');

    const given = await post(pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 1], { item: [...pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 1]).item, { linkId: 'pdi-total', answer: [{ valueInteger: 7 }] }] }));
    t.equal(given.item.length, 8, 'a correct total from the client is kept');
    const wrong = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 1], { item: [...pdiResponse('Patient/p1', [1, 1, 1, 1, 1, 1, 1]).item, { linkId: 'pdi-total', answer: [{ valueInteger: 8 }] }] }),
    });
    assertIssue(t, wrong, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='pdi-total')");
  });
});
