/**
 * A synthetic SDC Questionnaire as form builders write it: calculated read-only items
 * (calculatedExpression), variables on the root and on a group, an initialExpression, and
 * observation-based extraction switched on at the root and off for one group. Expressions use
 * R4 FHIRPath only (explicit `+`, no sum() or aggregate()).
 */
import type { Json } from './search.js';

export const LIFESTYLE = 'http://schakel.test/fhir/Questionnaire/leefstijl|1.0.0';
export const LOINC = 'http://loinc.org';
export const TEST_CS = 'http://schakel.test/cs';
export const EXTRACT_ID = 'http://schakel.nl/fhir/NamingSystem/questionnaire-extract';

const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
const fhirpath = (expression: string) => ({ language: 'text/fhirpath', expression });
const calculated = (expression: string) => ({ url: `${SDC}/sdc-questionnaire-calculatedExpression`, valueExpression: fhirpath(expression) });
const variable = (name: string, expression: string) => ({
  url: 'http://hl7.org/fhir/StructureDefinition/variable',
  valueExpression: { name, ...fhirpath(expression) },
});
const extract = (on: boolean) => ({ url: `${SDC}/sdc-questionnaire-observationExtract`, valueBoolean: on });
const unit = (code: string) => ({ url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit', valueCoding: { system: 'http://unitsofmeasure.org', code, display: code } });
const answerOf = (linkId: string) => `%resource.item.where(linkId='${linkId}').answer.value`;

export const lifestyleQuestionnaire: Json = {
  resourceType: 'Questionnaire',
  id: 'leefstijl-1-0-0',
  url: 'http://schakel.test/fhir/Questionnaire/leefstijl',
  version: '1.0.0',
  status: 'active',
  subjectType: ['Patient'],
  extension: [extract(true), variable('weight', answerOf('weight')), variable('heightM', `${answerOf('height')} / 100`)],
  item: [
    { linkId: 'weight', text: 'Gewicht', type: 'decimal', code: [{ system: LOINC, code: '29463-7', display: 'Body weight' }], extension: [unit('kg')] },
    { linkId: 'height', text: 'Lengte', type: 'decimal', code: [{ system: LOINC, code: '8302-2', display: 'Body height' }], extension: [unit('cm')] },
    {
      linkId: 'bmi',
      text: 'BMI',
      type: 'decimal',
      readOnly: true,
      code: [{ system: LOINC, code: '39156-5', display: 'Body mass index' }],
      extension: [calculated('(%weight / (%heightM * %heightM)).round(1)'), unit('kg/m2')],
    },
    { linkId: 'q1', text: 'Vraag 1', type: 'integer' },
    { linkId: 'q2', text: 'Vraag 2', type: 'integer' },
    { linkId: 'q3', text: 'Vraag 3', type: 'integer' },
    {
      linkId: 'total',
      text: 'Totaal',
      type: 'integer',
      readOnly: true,
      code: [{ system: TEST_CS, code: 'leefstijl-totaal' }],
      extension: [calculated(`${answerOf('q1')} + ${answerOf('q2')} + ${answerOf('q3')}`)],
    },
    {
      linkId: 'activity',
      text: 'Beweging',
      type: 'group',
      // Variables on a group are evaluated on the group's item in the response.
      extension: [extract(false), variable('walk', "item.where(linkId='walk-days').answer.value"), variable('sport', "item.where(linkId='sport-days').answer.value")],
      item: [
        { linkId: 'walk-days', text: 'Dagen gewandeld', type: 'integer' },
        { linkId: 'sport-days', text: 'Dagen gesport', type: 'integer' },
        { linkId: 'active-days', text: 'Actieve dagen', type: 'integer', readOnly: true, code: [{ system: TEST_CS, code: 'actief' }], extension: [calculated('%walk + %sport')] },
      ],
    },
    {
      linkId: 'form-version',
      text: 'Formulierversie',
      type: 'string',
      readOnly: true,
      extension: [{ url: `${SDC}/sdc-questionnaire-initialExpression`, valueExpression: fhirpath('%questionnaire.version') }],
    },
  ],
};

export interface LifestyleAnswers {
  weight?: number;
  height?: number;
  q?: readonly number[];
  walk?: number;
  sport?: number;
  /** Items the client sends for the calculated questions. */
  calculated?: Json[];
}

/** A lifestyle response; what is not given is left out. */
export function lifestyleResponse(subject: string, answers: LifestyleAnswers, extra: Record<string, unknown> = {}): Json {
  const item: Json[] = [];
  if (answers.weight !== undefined) item.push({ linkId: 'weight', answer: [{ valueDecimal: answers.weight }] });
  if (answers.height !== undefined) item.push({ linkId: 'height', answer: [{ valueDecimal: answers.height }] });
  (answers.q ?? []).forEach((value, i) => item.push({ linkId: `q${i + 1}`, answer: [{ valueInteger: value }] }));
  if (answers.walk !== undefined || answers.sport !== undefined) {
    item.push({
      linkId: 'activity',
      item: [
        ...(answers.walk !== undefined ? [{ linkId: 'walk-days', answer: [{ valueInteger: answers.walk }] }] : []),
        ...(answers.sport !== undefined ? [{ linkId: 'sport-days', answer: [{ valueInteger: answers.sport }] }] : []),
      ],
    });
  }
  item.push(...(answers.calculated ?? []));
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: LIFESTYLE,
    status: 'completed',
    subject: { reference: subject },
    authored: '2025-03-04T09:30:00+01:00',
    item,
    ...extra,
  };
}

/** The answer of an item anywhere in a response (first match, depth first). */
export function answerIn(response: Json, linkId: string): Json {
  const find = (items: Json[] | undefined): Json => {
    for (const item of items ?? []) {
      if (item.linkId === linkId) return item.answer?.[0];
      const inner = find(item.item);
      if (inner) return inner;
    }
    return undefined;
  };
  return find(response.item);
}
