import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';
import { NRS, patient, PDI, pdiResponse } from '../helpers/outcomes.js';
import { put } from '../helpers/search.js';

const RULES = 'http://schakel.test/fhir/Questionnaire/rules|1.0.0';

/** A Questionnaire with one item per rule: types, ranges, options, groups, enableWhen, repeats. */
const rules = {
  resourceType: 'Questionnaire',
  id: 'rules',
  url: 'http://schakel.test/fhir/Questionnaire/rules',
  version: '1.0.0',
  status: 'active',
  item: [
    { linkId: 'pijn', text: 'Heeft u pijn?', type: 'boolean', required: true },
    {
      linkId: 'ernst',
      text: 'Hoe erg?',
      type: 'integer',
      required: true,
      enableWhen: [{ question: 'pijn', operator: '=', answerBoolean: true }],
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/minValue', valueInteger: 0 },
        { url: 'http://hl7.org/fhir/StructureDefinition/maxValue', valueInteger: 10 },
      ],
    },
    {
      linkId: 'plek',
      text: 'Waar?',
      type: 'choice',
      repeats: true,
      answerOption: [{ valueCoding: { system: 'http://schakel.test/plek', code: 'rug' } }, { valueCoding: { system: 'http://schakel.test/plek', code: 'nek' } }],
    },
    { linkId: 'info', text: 'Toelichting', type: 'display' },
    {
      linkId: 'werk',
      text: 'Werk',
      type: 'group',
      required: true,
      item: [
        { linkId: 'functie', text: 'Functie', type: 'string', required: true, maxLength: 5 },
        { linkId: 'uren', text: 'Uren per week', type: 'decimal', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/maxValue', valueDecimal: 60 }] },
      ],
    },
    {
      linkId: 'sinds',
      text: 'Sinds wanneer?',
      type: 'date',
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/minValue', valueDate: '2000-01-01' }],
      item: [{ linkId: 'sinds-toelichting', text: 'Hoe begon het?', type: 'text', required: true }],
    },
  ],
};

function response(items: unknown[], status = 'completed'): Record<string, unknown> {
  return { resourceType: 'QuestionnaireResponse', questionnaire: RULES, status, subject: { reference: 'Patient/p1' }, item: items };
}

const pijn = (value: boolean) => ({ linkId: 'pijn', answer: [{ valueBoolean: value }] });
const ernst = (...values: number[]) => ({ linkId: 'ernst', answer: values.map((v) => ({ valueInteger: v })) });
const werk = (functie = 'fysio') => ({ linkId: 'werk', item: [{ linkId: 'functie', answer: [{ valueString: functie }] }] });

t.test(`QuestionnaireResponses are validated against their Questionnaire on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const { request } = app;
  await patient(app, 'p1');
  await put(app, rules);
  const post = (body: unknown) => request({ method: 'POST', url: '/fhir/QuestionnaireResponse', body });

  t.test('a conforming response is stored', async (t) => {
    const ok = await post(
      response([
        pijn(true),
        ernst(6),
        { linkId: 'plek', answer: [{ valueCoding: { system: 'http://schakel.test/plek', code: 'rug' } }, { valueCoding: { system: 'http://schakel.test/plek', code: 'nek' } }] },
        { linkId: 'werk', item: [{ linkId: 'functie', answer: [{ valueString: 'fysio' }] }, { linkId: 'uren', answer: [{ valueDecimal: 32.5 }] }] },
        { linkId: 'sinds', answer: [{ valueDate: '2019-05-01', item: [{ linkId: 'sinds-toelichting', answer: [{ valueString: 'Na een val' }] }] }] },
      ])
    );
    t.equal(ok.statusCode, 201, ok.statusCode === 201 ? 'stored' : ok.body);
  });

  t.test('linkIds must exist at their place', async (t) => {
    const unknown = await post(response([pijn(false), werk(), { linkId: 'onbekend', answer: [{ valueString: 'x' }] }]));
    assertIssue(t, unknown, 422, 'structure', 'QuestionnaireResponse.item[2]');
    assertIssue(t, unknown, 422, 'structure', "QuestionnaireResponse.item.where(linkId='onbekend')");
    const misplaced = await post(response([pijn(false), werk(), { linkId: 'functie', answer: [{ valueString: 'x' }] }]));
    assertIssue(t, misplaced, 422, 'structure', "QuestionnaireResponse.item.where(linkId='functie')");
  });

  t.test('answers have the item type', async (t) => {
    const wrong = await post(response([pijn(true), { linkId: 'ernst', answer: [{ valueString: 'veel' }] }, werk()]));
    assertIssue(t, wrong, 422, 'structure', 'QuestionnaireResponse.item[1].answer[0].valueString');
    assertIssue(t, wrong, 422, 'structure', "QuestionnaireResponse.item.where(linkId='ernst').answer[0].valueString");
    // (A group item with both items and answers breaks R4's own qrs-1 first.)
    const group = await post(response([pijn(false), { linkId: 'werk', answer: [{ valueString: 'x' }] }]));
    assertIssue(t, group, 422, 'structure', "QuestionnaireResponse.item.where(linkId='werk').answer[0]");
    const display = await post(response([pijn(false), { linkId: 'info', answer: [{ valueString: 'x' }] }, werk()]));
    assertIssue(t, display, 422, 'structure', "QuestionnaireResponse.item.where(linkId='info').answer[0]");
    const childOfQuestion = await post(response([pijn(false), werk(), { linkId: 'sinds', item: [{ linkId: 'sinds-toelichting', answer: [{ valueString: 'x' }] }] }]));
    assertIssue(t, childOfQuestion, 422, 'structure', "QuestionnaireResponse.item.where(linkId='sinds')");
  });

  t.test('answers lie within range, length and options', async (t) => {
    assertIssue(t, await post(response([pijn(true), ernst(11), werk()])), 422, 'value', "QuestionnaireResponse.item.where(linkId='ernst').answer[0]");
    assertIssue(t, await post(response([pijn(true), ernst(-1), werk()])), 422, 'value', 'QuestionnaireResponse.item[1].answer[0]');
    const long = await post(response([pijn(false), werk('revalidatiearts')]));
    assertIssue(t, long, 422, 'value', "QuestionnaireResponse.item.where(linkId='werk').item.where(linkId='functie').answer[0]");
    assertIssue(t, long, 422, 'value', 'QuestionnaireResponse.item[1].item[0].answer[0]');
    const hours = await post(response([pijn(false), { linkId: 'werk', item: [{ linkId: 'functie', answer: [{ valueString: 'arts' }] }, { linkId: 'uren', answer: [{ valueDecimal: 60.5 }] }] }]));
    assertIssue(t, hours, 422, 'value', "QuestionnaireResponse.item.where(linkId='werk').item.where(linkId='uren').answer[0]");
    const option = await post(response([pijn(false), werk(), { linkId: 'plek', answer: [{ valueCoding: { system: 'http://schakel.test/plek', code: 'knie' } }] }]));
    assertIssue(t, option, 422, 'value', "QuestionnaireResponse.item.where(linkId='plek').answer[0]");
    const early = await post(response([pijn(false), werk(), { linkId: 'sinds', answer: [{ valueDate: '1999-12-31', item: [{ linkId: 'sinds-toelichting', answer: [{ valueString: 'x' }] }] }] }]));
    assertIssue(t, early, 422, 'value', "QuestionnaireResponse.item.where(linkId='sinds').answer[0]");
  });

  t.test('required items are present when the response is completed', async (t) => {
    const missing = await post(response([werk()]));
    assertIssue(t, missing, 422, 'required', "QuestionnaireResponse.item.where(linkId='pijn')");
    assertIssue(t, missing, 422, 'required', 'QuestionnaireResponse');
    const nested = await post(response([pijn(false), { linkId: 'werk', item: [{ linkId: 'uren', answer: [{ valueDecimal: 8 }] }] }]));
    assertIssue(t, nested, 422, 'required', "QuestionnaireResponse.item.where(linkId='werk').item.where(linkId='functie')");
    const underAnswer = await post(response([pijn(false), werk(), { linkId: 'sinds', answer: [{ valueDate: '2019-05-01' }] }]));
    assertIssue(t, underAnswer, 422, 'required', "QuestionnaireResponse.item.where(linkId='sinds').answer[0].item.where(linkId='sinds-toelichting')");
    const empty = await post(response([pijn(true), { linkId: 'ernst' }, werk()]));
    assertIssue(t, empty, 422, 'required', "QuestionnaireResponse.item.where(linkId='ernst')");
    const amended = await post(response([werk()], 'amended'));
    assertIssue(t, amended, 422, 'required', "QuestionnaireResponse.item.where(linkId='pijn')");
    t.equal((await post(response([werk()], 'in-progress'))).statusCode, 201, 'an unfinished response may leave required items out');
    const stillChecked = await post(response([pijn(true), ernst(12)], 'in-progress'));
    assertIssue(t, stillChecked, 422, 'value', "QuestionnaireResponse.item.where(linkId='ernst').answer[0]");
  });

  t.test('enableWhen is honoured', async (t) => {
    const disabled = await post(response([pijn(false), ernst(4), werk()]));
    assertIssue(t, disabled, 422, 'business-rule', "QuestionnaireResponse.item.where(linkId='ernst')");
    t.equal((await post(response([pijn(false), werk()]))).statusCode, 201, 'a disabled required item need not be answered');
    const enabled = await post(response([pijn(true), werk()]));
    assertIssue(t, enabled, 422, 'required', "QuestionnaireResponse.item.where(linkId='ernst')");
  });

  t.test('repeats are respected', async (t) => {
    const twoAnswers = await post(response([pijn(true), ernst(3, 4), werk()]));
    assertIssue(t, twoAnswers, 422, 'structure', "QuestionnaireResponse.item.where(linkId='ernst').answer[1]");
    const twice = await post(response([pijn(false), werk(), werk()]));
    assertIssue(t, twice, 422, 'structure', "QuestionnaireResponse.item.where(linkId='werk')[1]");
    assertIssue(t, twice, 422, 'structure', 'QuestionnaireResponse.item[2]');
  });

  t.test('updates, patches and transaction entries are validated too', async (t) => {
    const created = (await post(response([pijn(false), werk()]))).json();
    const update = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${created.id}`, body: { ...created, item: [pijn(true), ernst(20), werk()] } });
    assertIssue(t, update, 422, 'value', "QuestionnaireResponse.item.where(linkId='ernst').answer[0]");
    const patch = await request({
      method: 'PATCH',
      url: `/fhir/QuestionnaireResponse/${created.id}`,
      body: [{ op: 'add', path: '/item/-', value: { linkId: 'nieuw', answer: [{ valueBoolean: true }] } }],
      headers: { 'content-type': 'application/json-patch+json' },
    });
    assertIssue(t, patch, 422, 'structure', "QuestionnaireResponse.item.where(linkId='nieuw')");
    const bundle = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } },
          { resource: response([pijn(true), ernst(42), werk()]), request: { method: 'POST', url: 'QuestionnaireResponse' } },
        ],
      },
    });
    assertIssue(t, bundle, 422, 'value', "Bundle.entry[1].resource.item.where(linkId='ernst').answer[0]");
  });

  t.test('the PDI and NRS of profiles/ are enforced', async (t) => {
    const outOfRange = await post(pdiResponse('Patient/p1', [1, 2, 11, 4, 5, 6, 7]));
    assertIssue(t, outOfRange, 422, 'value', "QuestionnaireResponse.item.where(linkId='pdi-3').answer[0]");
    t.equal((await post(pdiResponse('Patient/p1', [1, 2, 3, null, 5, 6, 7]))).statusCode, 201, 'PDI items are optional: a missing item means no total');
    const nrs = await post({ resourceType: 'QuestionnaireResponse', questionnaire: NRS, status: 'completed', subject: { reference: 'Patient/p1' } });
    assertIssue(t, nrs, 422, 'required', "QuestionnaireResponse.item.where(linkId='nrs-pijn')");
    const unversioned = await post(pdiResponse('Patient/p1', [1, 2, 3, 4, 5, 6, 70], { questionnaire: PDI.split('|')[0] }));
    assertIssue(t, unversioned, 422, 'value', "QuestionnaireResponse.item.where(linkId='pdi-7').answer[0]");
  });

  t.test('enableWhen inside a repeating group looks at the same repetition', async (t) => {
    await put(app, {
      resourceType: 'Questionnaire',
      id: 'medicatie',
      url: 'http://schakel.test/fhir/Questionnaire/medicatie',
      version: '1',
      status: 'active',
      item: [
        {
          linkId: 'middel',
          text: 'Pijnmedicatie',
          type: 'group',
          repeats: true,
          item: [
            { linkId: 'naam', text: 'Naam', type: 'string', required: true },
            { linkId: 'dosering-bekend', text: 'Dosering bekend?', type: 'boolean', required: true },
            { linkId: 'dosering', text: 'Dosering (mg)', type: 'integer', required: true, enableWhen: [{ question: 'dosering-bekend', operator: '=', answerBoolean: true }] },
          ],
        },
      ],
    });
    const repetition = (naam: string, bekend: boolean, dosering?: number) => ({
      linkId: 'middel',
      item: [
        { linkId: 'naam', answer: [{ valueString: naam }] },
        { linkId: 'dosering-bekend', answer: [{ valueBoolean: bekend }] },
        ...(dosering === undefined ? [] : [{ linkId: 'dosering', answer: [{ valueInteger: dosering }] }]),
      ],
    });
    const medicatie = (...items: unknown[]) =>
      post({ ...response(items), questionnaire: 'http://schakel.test/fhir/Questionnaire/medicatie|1' });
    const ok = await medicatie(repetition('paracetamol', true, 500), repetition('ibuprofen', false));
    t.equal(ok.statusCode, 201, 'the second repetition needs no dosage although the first knows one');
    assertIssue(t, await medicatie(repetition('paracetamol', true, 500), repetition('ibuprofen', false, 400)), 422, 'business-rule', 'QuestionnaireResponse.item[1].item[2]');
    assertIssue(t, await medicatie(repetition('paracetamol', false), repetition('ibuprofen', true)), 422, 'required', "QuestionnaireResponse.item.where(linkId='middel')[1].item.where(linkId='dosering')");
  });

  t.test('choice answers lie in their answerValueSet: stored, contained and R4 value sets', async (t) => {
    const HULP = 'http://schakel.test/hulpmiddel';
    await put(app, {
      resourceType: 'ValueSet',
      id: 'hulpmiddelen',
      url: 'http://schakel.test/fhir/ValueSet/hulpmiddelen',
      status: 'active',
      compose: { include: [{ system: HULP, concept: [{ code: 'rollator' }, { code: 'stok' }] }] },
    });
    await put(app, {
      resourceType: 'Questionnaire',
      id: 'bound',
      url: 'http://schakel.test/fhir/Questionnaire/bound',
      version: '1',
      status: 'active',
      contained: [{ resourceType: 'ValueSet', id: 'ja-nee', status: 'active', compose: { include: [{ system: 'http://schakel.test/ja-nee', concept: [{ code: 'ja' }, { code: 'nee' }] }] } }],
      item: [
        { linkId: 'hulpmiddel', text: 'Welk hulpmiddel?', type: 'open-choice', answerValueSet: 'http://schakel.test/fhir/ValueSet/hulpmiddelen' },
        { linkId: 'alleen', text: 'Woont u alleen?', type: 'choice', answerValueSet: '#ja-nee' },
        { linkId: 'geslacht', text: 'Geslacht', type: 'choice', answerValueSet: 'http://hl7.org/fhir/ValueSet/administrative-gender' },
        { linkId: 'elders', text: 'Elders', type: 'choice', answerValueSet: 'http://schakel.test/fhir/ValueSet/onbekend' },
      ],
    });
    const answer = (linkId: string, value: Record<string, unknown>) => ({ linkId, answer: [value] });
    const bound = (...items: unknown[]) =>
      request({
        method: 'POST',
        url: '/fhir/QuestionnaireResponse',
        body: { ...response(items), questionnaire: 'http://schakel.test/fhir/Questionnaire/bound|1' },
        headers: { prefer: 'return=OperationOutcome' },
      });
    const ok = await bound(
      answer('hulpmiddel', { valueCoding: { system: HULP, code: 'rollator' } }),
      answer('alleen', { valueCoding: { system: 'http://schakel.test/ja-nee', code: 'nee' } }),
      answer('geslacht', { valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'female' } })
    );
    t.equal(ok.statusCode, 201, ok.body);
    t.equal((await bound(answer('hulpmiddel', { valueString: 'een scootmobiel' }))).statusCode, 201, 'open-choice takes free text');
    assertIssue(t, await bound(answer('hulpmiddel', { valueCoding: { system: HULP, code: 'scootmobiel' } })), 422, 'value', "QuestionnaireResponse.item.where(linkId='hulpmiddel').answer[0]");
    assertIssue(t, await bound(answer('alleen', { valueCoding: { system: 'http://schakel.test/ja-nee', code: 'soms' } })), 422, 'value', 'QuestionnaireResponse.item[0].answer[0]');
    assertIssue(t, await bound(answer('geslacht', { valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'f' } })), 422, 'value', "QuestionnaireResponse.item.where(linkId='geslacht').answer[0]");
    const unknown = await bound(answer('elders', { valueCoding: { system: 'http://schakel.test/x', code: 'y' } }));
    t.equal(unknown.statusCode, 201, 'an unknown value set leaves the answer unchecked');
    t.ok(issuesOf(unknown).some((i) => i.severity === 'warning' && i.code === 'not-supported' && /onbekend/.test(i.details?.text ?? '')), 'and says so');
  });

  t.test('a response to a Questionnaire the server does not know is stored with a warning', async (t) => {
    const foreign = await request({
      method: 'POST',
      url: '/fhir/QuestionnaireResponse',
      body: { ...response([{ linkId: 'x', answer: [{ valueString: 'y' }] }]), questionnaire: 'http://example.org/Questionnaire/elders' },
      headers: { prefer: 'return=OperationOutcome' },
    });
    t.equal(foreign.statusCode, 201);
    t.ok(issuesOf(foreign).some((i) => i.severity === 'warning' && i.code === 'not-found' && i.expression?.includes('QuestionnaireResponse.questionnaire')));
  });

  t.test('Questionnaires: score definitions and canonicals are checked', async (t) => {
    const badScore = await request({
      method: 'POST',
      url: '/fhir/Questionnaire',
      body: {
        resourceType: 'Questionnaire',
        status: 'active',
        url: 'http://schakel.test/fhir/Questionnaire/bad',
        extension: [
          {
            url: 'http://schakel.nl/fhir/StructureDefinition/questionnaire-score',
            extension: [
              { url: 'code', valueCoding: { system: 'http://schakel.test/cs', code: 'totaal' } },
              { url: 'expression', valueExpression: { language: 'text/fhirpath', expression: 'item.where(linkId=' } },
              { url: 'item', valueString: 'a' },
            ],
          },
        ],
        item: [{ linkId: 'a', text: 'A', type: 'integer' }],
      },
    });
    assertIssue(t, badScore, 422, 'invalid', 'Questionnaire.extension[0]');
    const duplicate = await request({ method: 'POST', url: '/fhir/Questionnaire', body: { ...rules, id: undefined } });
    assertIssue(t, duplicate, 409, 'duplicate', 'Questionnaire.version');
    const nextVersion = await request({ method: 'POST', url: '/fhir/Questionnaire', body: { ...rules, id: undefined, version: '1.1.0' } });
    t.equal(nextVersion.statusCode, 201, 'a new version is a new canonical');
  });
});
