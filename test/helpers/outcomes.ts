/** Builders for outcome-questionnaire tests: patients, PDI/NRS responses and searches by canonical. */
import type { TestApp } from './app.js';
import { put, type Json } from './search.js';

export const PDI = 'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0';
export const NRS = 'http://schakel.nl/fhir/Questionnaire/nrs-pijn|1.0.0';
export const PAIN = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
export const SCORE_ID = 'http://schakel.nl/fhir/NamingSystem/questionnaire-score';

export async function patient(app: TestApp, id: string, bsn = '999911120'): Promise<Json> {
  return put(app, {
    resourceType: 'Patient',
    id,
    identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }],
    name: [{ family: 'Test', given: [id] }],
  });
}

/** A PDI response; `null` leaves an item out. */
export function pdiResponse(subject: string, answers: ReadonlyArray<number | null>, extra: Record<string, unknown> = {}): Json {
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: PDI,
    status: 'completed',
    subject: { reference: subject },
    authored: '2025-01-08T10:00:00+01:00',
    item: answers.flatMap((value, i) => (value === null ? [] : [{ linkId: `pdi-${i + 1}`, answer: [{ valueInteger: value }] }])),
    ...extra,
  };
}

export function nrsResponse(subject: string, value: number, extra: Record<string, unknown> = {}): Json {
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: NRS,
    status: 'completed',
    subject: { reference: subject },
    authored: '2025-01-08T10:00:00+01:00',
    item: [{ linkId: 'nrs-pijn', answer: [{ valueInteger: value }] }],
    ...extra,
  };
}

/** The score Observations of a response (searched by their identifier). */
export async function scoresOf(app: TestApp, responseId: string, code: string): Promise<Json[]> {
  const url = `/fhir/Observation?identifier=${encodeURIComponent(`${SCORE_ID}|${responseId}#${code}`)}`;
  const body = (await app.request({ method: 'GET', url })).json();
  return (body.entry ?? []).map((e: Json) => e.resource);
}
