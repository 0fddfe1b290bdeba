/**
 * QuestionnaireResponse/$extract (SDC): a transaction Bundle of the Observations a response gives,
 * answered without storing anything; instance and type level; listed in the CapabilityStatement.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';
import { patient, PDI, pdiResponse, SCORE_ID } from '../helpers/outcomes.js';
import { put, type Json } from '../helpers/search.js';
import { EXTRACT_ID, lifestyleQuestionnaire, lifestyleResponse } from '../helpers/sdc-forms.js';

const DEFINITION = 'http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract';

t.test(`QuestionnaireResponse/$extract on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const { request } = app;
  await patient(app, 'extract-p1');
  await put(app, lifestyleQuestionnaire);
  const observationCount = async (): Promise<number> =>
    (await request({ method: 'GET', url: '/fhir/Observation?subject=Patient/extract-p1&_summary=count' })).json().total;
  const byCode = (bundle: Json): Map<string, Json> => new Map(bundle.entry.map((e: Json) => [e.resource.code.coding[0].code, e]));

  t.test('instance level: the Observations of a stored response, not stored again', async (t) => {
    const stored = await put(app, lifestyleResponse('Patient/extract-p1', { weight: 80, height: 180, q: [2, 2, 2] }, { status: 'in-progress' }));
    const before = await observationCount();
    const response = await request({ method: 'GET', url: `/fhir/QuestionnaireResponse/${stored.id}/$extract` });
    t.equal(response.statusCode, 200, response.body);
    const bundle = response.json();
    t.equal(bundle.resourceType, 'Bundle');
    t.equal(bundle.type, 'transaction');
    const entries = byCode(bundle);
    t.same([...entries.keys()].sort(), ['29463-7', '39156-5', '8302-2', 'leefstijl-totaal'], 'calculated items included, even before completion');
    const total = entries.get('leefstijl-totaal');
    t.equal(total.resource.valueInteger, 6);
    t.equal(total.resource.status, 'final');
    t.same(total.resource.derivedFrom, [{ reference: `QuestionnaireResponse/${stored.id}` }]);
    t.same(total.request, { method: 'PUT', url: `Observation?identifier=${encodeURIComponent(`${EXTRACT_ID}|${stored.id}#total`)}` }, 'a conditional update on its identifier');
    t.match(total.fullUrl, /^urn:uuid:/);
    t.equal(await observationCount(), before, 'nothing stored');

    const post = await request({ method: 'POST', url: `/fhir/QuestionnaireResponse/${stored.id}/$extract`, body: { resourceType: 'Parameters' } });
    t.equal(post.statusCode, 200);
    t.equal(post.json().entry.length, 4, 'POST answers the same');
  });

  t.test('the Bundle posted after completion updates what completion stored', async (t) => {
    const stored = await put(app, lifestyleResponse('Patient/extract-p1', { weight: 70, height: 175, q: [1, 1, 1] }));
    const after = await observationCount();
    const bundle = (await request({ method: 'GET', url: `/fhir/QuestionnaireResponse/${stored.id}/$extract` })).json();
    const posted = await request({ method: 'POST', url: '/fhir', body: bundle });
    t.equal(posted.statusCode, 200, posted.body);
    t.same(posted.json().entry.map((e: Json) => e.response.status.slice(0, 3)), ['200', '200', '200', '200'], 'each matched the stored Observation');
    t.equal(await observationCount(), after, 'no copies');
  });

  t.test('type level: a response given in a Parameters body', async (t) => {
    const before = await observationCount();
    const response = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse/$extract',
      body: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: lifestyleResponse('Patient/extract-p1', { weight: 90, q: [3, 3, 3] }) }] },
    });
    t.equal(response.statusCode, 200, response.body);
    const entries = byCode(response.json());
    t.same([...entries.keys()].sort(), ['29463-7', 'leefstijl-totaal']);
    const weight = entries.get('29463-7');
    t.equal(weight.resource.valueQuantity.value, 90);
    t.same(weight.resource.subject, { reference: 'Patient/extract-p1' });
    t.equal(weight.resource.effectiveDateTime, '2025-03-04T09:30:00+01:00');
    t.notOk(weight.resource.derivedFrom, 'an unsaved response cannot be referred to');
    t.same(weight.request, { method: 'POST', url: 'Observation' });
    t.equal(entries.get('leefstijl-totaal').resource.valueInteger, 9);
    t.equal(await observationCount(), before, 'nothing stored');
  });

  t.test('the PDI gives its score Observation', async (t) => {
    const stored = await put(app, pdiResponse('Patient/extract-p1', [1, 2, 3, 4, 5, 6, 7]));
    const bundle = (await request({ method: 'GET', url: `/fhir/QuestionnaireResponse/${stored.id}/$extract` })).json();
    t.equal(bundle.entry.length, 1, 'the total once: its item carries the score code');
    t.equal(bundle.entry[0].resource.valueQuantity.value, 28);
    t.same(bundle.entry[0].resource.identifier, [{ system: SCORE_ID, value: `${stored.id}#pdi-total` }]);
    t.equal(bundle.entry[0].resource.extension[0].valueCanonical, PDI);
  });

  t.test('bad input', async (t) => {
    assertIssue(t, await request({ method: 'POST', url: '/fhir/QuestionnaireResponse/$extract', body: { resourceType: 'Parameters' } }), 400, 'invalid', 'questionnaire-response');
    assertIssue(
      t,
      await request({ method: 'POST', url: '/fhir/QuestionnaireResponse/$extract', body: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', valueString: 'x' }] } }),
      400,
      // A value where the OperationDefinition declares a resource (operation-parameters.ts).
      'value',
      'questionnaire-response'
    );
    assertIssue(
      t,
      await request({
        method: 'POST',
        url: '/fhir/QuestionnaireResponse/$extract',
        body: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: { resourceType: 'Patient' } }] },
      }),
      400,
      'value',
      'questionnaire-response'
    );
    assertIssue(
      t,
      await request({
        method: 'POST',
        url: '/fhir/QuestionnaireResponse/$extract',
        body: {
          resourceType: 'Parameters',
          parameter: [{ name: 'questionnaire-response', resource: lifestyleResponse('Patient/extract-p1', { q: [1, 2, 3], calculated: [{ linkId: 'total', answer: [{ valueInteger: 5 }] }] }) }],
        },
      }),
      422,
      'business-rule',
      "QuestionnaireResponse.item.where(linkId='total')"
    );
    assertIssue(
      t,
      await request({
        method: 'POST',
        url: '/fhir/QuestionnaireResponse/$extract',
        body: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: { ...lifestyleResponse('Patient/extract-p1', { q: [1] }), questionnaire: 'http://schakel.test/fhir/Questionnaire/onbekend' } }] },
      }),
      422,
      'not-found',
      'QuestionnaireResponse.questionnaire'
    );
    assertIssue(t, await request({ method: 'GET', url: '/fhir/QuestionnaireResponse/bestaat-niet/$extract' }), 404, 'not-found');
  });

  t.test('the CapabilityStatement lists $extract with its OperationDefinition', async (t) => {
    const metadata = (await request({ method: 'GET', url: '/fhir/metadata' })).json();
    const resource = metadata.rest[0].resource.find((r: Json) => r.type === 'QuestionnaireResponse');
    t.same(
      resource.operation.filter((o: Json) => o.name === 'extract'),
      [{ name: 'extract', definition: DEFINITION }]
    );
  });
});
