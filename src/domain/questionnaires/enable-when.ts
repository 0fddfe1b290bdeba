/**
 * enableWhen (https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.enableWhen):
 * an item with conditions is enabled when all of them hold (enableBehavior `all`, the default) or
 * any of them (`any`). A condition looks at the answers of the question it names: `exists` compares
 * their presence with answerBoolean; every other operator holds when at least one answer compares
 * so with the condition's answer, and never when the question has no answer.
 *
 * Which answers a condition sees is the caller's AnswerLookup: response-rules.ts scopes it so that
 * a question inside a repeating group (or under an answer) is looked up in the same repetition.
 */
import type { QuestionnaireItem, QuestionnaireItemEnableWhen, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { choiceValue, compareValues, valuesEqual, type ChoiceValue } from './answer-values.js';

export type AnswersByLinkId = ReadonlyMap<string, readonly ChoiceValue[]>;

/** The answers a condition sees for the question it names. */
export interface AnswerLookup {
  get(linkId: string): readonly ChoiceValue[] | undefined;
}

/** Every answer in a response, by the linkId of its item (nested items and answer items included). */
export function answersByLinkId(items: readonly QuestionnaireResponseItem[] | undefined): AnswersByLinkId {
  const result = new Map<string, ChoiceValue[]>();
  const walk = (list: readonly QuestionnaireResponseItem[] | undefined): void => {
    for (const item of list ?? []) {
      for (const answer of item.answer ?? []) {
        const value = choiceValue(answer, 'value');
        if (value) {
          const values = result.get(item.linkId) ?? [];
          values.push(value);
          result.set(item.linkId, values);
        }
        walk(answer.item);
      }
      walk(item.item);
    }
  };
  walk(items);
  return result;
}

function holds(condition: QuestionnaireItemEnableWhen, answers: AnswerLookup): boolean {
  const given = answers.get(condition.question) ?? [];
  const expected = choiceValue(condition, 'answer');
  if (condition.operator === 'exists') {
    return (given.length > 0) === (expected?.value === true);
  }
  if (!expected) {
    return false;
  }
  return given.some((answer) => {
    if (condition.operator === '=') {
      return valuesEqual(answer, expected);
    }
    if (condition.operator === '!=') {
      return !valuesEqual(answer, expected);
    }
    const order = compareValues(answer, expected);
    if (order === undefined) {
      return false;
    }
    switch (condition.operator) {
      case '>':
        return order > 0;
      case '<':
        return order < 0;
      case '>=':
        return order >= 0;
      case '<=':
        return order <= 0;
      default:
        return false;
    }
  });
}

/** Whether an item is enabled by its own conditions (its ancestors are the caller's concern). */
export function isEnabled(item: QuestionnaireItem, answers: AnswerLookup): boolean {
  const conditions = item.enableWhen ?? [];
  if (conditions.length === 0) {
    return true;
  }
  return item.enableBehavior === 'any' ? conditions.some((c) => holds(c, answers)) : conditions.every((c) => holds(c, answers));
}
