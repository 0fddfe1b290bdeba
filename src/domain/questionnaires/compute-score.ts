/**
 * Computes one score of a response: first the missing-item rule (how many of the items the score
 * needs are unanswered, against maxMissing), then the FHIRPath expression through @medplum/core
 * with %resource (the response) and %questionnaire. The PDI's total is the sum of its seven
 * items (0-70, Pollard 1984); Schakel's PDI allows no missing item (maxMissing 0), so an
 * incomplete PDI has no total rather than one that cannot be compared with complete ones.
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Questionnaire, QuestionnaireResponse } from '@medplum/fhirtypes';
import { answersByLinkId } from './enable-when.js';
import type { ScoreDefinition } from './score-definitions.js';

export type ScoreResult =
  | { readonly kind: 'value'; readonly value: number }
  /** Too many of the needed items are unanswered: `missing` names them. */
  | { readonly kind: 'missing'; readonly missing: readonly string[] }
  /** The expression gave no single number (empty, several values, or not a number). */
  | { readonly kind: 'error'; readonly reason: string };

export function computeScore(definition: ScoreDefinition, response: QuestionnaireResponse, questionnaire: Questionnaire): ScoreResult {
  const answers = answersByLinkId(response.item);
  const missing = definition.items.filter((linkId) => (answers.get(linkId)?.length ?? 0) === 0);
  if (missing.length > definition.maxMissing) {
    return { kind: 'missing', missing };
  }
  let result: TypedValue[];
  try {
    const input = toTypedValue(response);
    result = evalFhirPathTyped(definition.expression, [input], {
      '%resource': input,
      '%questionnaire': toTypedValue(questionnaire),
    });
  } catch (error) {
    return { kind: 'error', reason: (error as Error).message };
  }
  const value: unknown = result.length === 1 ? result[0]?.value : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { kind: 'error', reason: `the expression gave ${result.length === 0 ? 'no value' : `${result.length} values or no number`}` };
  }
  return { kind: 'value', value };
}
