/**
 * Calculated answers of a completed (or amended) response (SDC, https://hl7.org/fhir/uv/sdc/behavior.html#calculatedExpression):
 * - a read-only question with a `calculatedExpression` that the client left unanswered gets the
 *   calculated answer before the response is stored, so the stored response carries its totals;
 * - a read-only question with an `initialExpression` and no answer gets its initial value: a
 *   respondent cannot change a read-only item (R4 Questionnaire.item.readOnly), so its value is
 *   the initial one. An editable question left empty stays empty: its respondent emptied it;
 * - a client answer to a read-only calculated question that differs from the calculated one is
 *   refused (422, the item's location): decimals compare numerically, up to floating-point
 *   rounding, integers exactly. A calculation that cannot be evaluated refuses nothing.
 * Editable calculated questions keep the client's answer: SDC lets the respondent override them.
 * Questions that enableWhen disables are left alone (response-rules.ts refuses answers on them).
 */
import type { TypedValue } from '@medplum/core';
import type {
  Coding,
  OperationOutcomeIssue,
  Quantity,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcomes.js';
import { choiceValue, type ChoiceValue } from './answer-values.js';
import { answersByLinkId, isEnabled, type AnswerLookup } from './enable-when.js';
import { expressions, itemLocation, RESPONSE_ROOT, type ItemLocation } from './response-paths.js';
import {
  baseVariables,
  CALCULATED_EXPRESSION,
  evaluate,
  fhirPathOf,
  hasSdcExpressions,
  INITIAL_EXPRESSION,
  withVariables,
  type Variables,
} from './sdc-expressions.js';

type Container = { item?: QuestionnaireResponseItem[] };

interface Level {
  readonly definitions: readonly QuestionnaireItem[];
  readonly container: Container;
  readonly at: ItemLocation;
  readonly variables: Variables;
  readonly answers: AnswerLookup;
}

interface QuestionVisit {
  readonly definition: QuestionnaireItem;
  readonly level: Level;
  /** The question's item in the response, with its location; undefined when it is absent. */
  readonly item: QuestionnaireResponseItem | undefined;
  readonly at: ItemLocation | undefined;
}

/** `anyStatus`: calculate whatever the response's status ($extract reads a response as completing it would store it). */
export interface StatusOption {
  readonly anyStatus?: boolean;
}

export function isCompleted(response: QuestionnaireResponse): boolean {
  return response.status === 'completed' || response.status === 'amended';
}

function linkIdsOf(items: readonly QuestionnaireItem[] | undefined, into = new Set<string>()): Set<string> {
  for (const item of items ?? []) {
    into.add(item.linkId);
    linkIdsOf(item.item, into);
  }
  return into;
}

/** Answers seen by enableWhen inside one group instance: its own first, then the outer ones (as response-rules.ts scopes them). */
function scoped(definitions: readonly QuestionnaireItem[], items: readonly QuestionnaireResponseItem[], outer: AnswerLookup): AnswerLookup {
  const local = linkIdsOf(definitions);
  const answers = answersByLinkId(items);
  return { get: (linkId) => (local.has(linkId) ? (answers.get(linkId) ?? []) : outer.get(linkId)) };
}

function derives(definition: QuestionnaireItem): boolean {
  return definition.readOnly === true && (fhirPathOf(definition, CALCULATED_EXPRESSION) ?? fhirPathOf(definition, INITIAL_EXPRESSION)) !== undefined;
}

function derivesBelow(definitions: readonly QuestionnaireItem[] | undefined): boolean {
  return (definitions ?? []).some((d) => derives(d) || derivesBelow(d.item));
}

/** Inserts an item among its siblings in the Questionnaire's order. */
function insertInOrder(level: Level, definition: QuestionnaireItem, item: QuestionnaireResponseItem): void {
  const order = level.definitions.map((d) => d.linkId);
  const rank = order.indexOf(definition.linkId);
  const items = level.container.item ?? [];
  const before = items.findIndex((i) => order.indexOf(i.linkId) > rank);
  items.splice(before === -1 ? items.length : before, 0, item);
  level.container.item = items;
}

/**
 * Visits every enabled question of a response in Questionnaire order, with the variables in
 * scope; `createGroups` adds a missing non-repeating group that derives answers (kept when it
 * gained items).
 */
function walk(level: Level, visit: (question: QuestionVisit) => void, createGroups: boolean): void {
  const items = level.container.item ?? [];
  for (const definition of level.definitions) {
    if (definition.type === 'display' || !isEnabled(definition, level.answers)) {
      continue;
    }
    const positions = items.flatMap((item, index) => (item.linkId === definition.linkId ? [index] : []));
    const located = positions.map((index, occurrence) => ({
      item: items[index] as QuestionnaireResponseItem,
      at: itemLocation(level.at, index, definition.linkId, occurrence, positions.length > 1),
    }));
    if (definition.type === 'group') {
      if (located.length === 0 && createGroups && definition.repeats !== true && derivesBelow(definition.item)) {
        const group: QuestionnaireResponseItem = { linkId: definition.linkId };
        walkGroup(level, definition, group, itemLocation(level.at, items.length, definition.linkId), visit, createGroups);
        if (group.item?.length) {
          insertInOrder(level, definition, group);
        }
      }
      for (const { item, at } of located) {
        walkGroup(level, definition, item, at, visit, createGroups);
      }
      continue;
    }
    const first = located[0];
    visit({ definition, level, item: first?.item, at: first?.at });
    // Questions nested under a question's answers.
    for (const { item, at } of located) {
      (item.answer ?? []).forEach((answer, j) => {
        if (definition.item?.length && answer.item) {
          const answerAt = { path: `${at.path}.answer[${j}]`, linkPath: `${at.linkPath}.answer[${j}]` };
          const inner: Level = { ...level, definitions: definition.item, container: answer, at: answerAt, answers: scoped(definition.item, answer.item, level.answers) };
          walk(inner, visit, createGroups);
        }
      });
    }
  }
}

function walkGroup(
  level: Level,
  definition: QuestionnaireItem,
  group: QuestionnaireResponseItem,
  at: ItemLocation,
  visit: (question: QuestionVisit) => void,
  createGroups: boolean
): void {
  const definitions = definition.item ?? [];
  const inner: Level = {
    definitions,
    container: group,
    at,
    variables: withVariables(definition, group, level.variables),
    answers: scoped(definitions, group.item ?? [], level.answers),
  };
  walk(inner, visit, createGroups);
}

function rootLevel(response: QuestionnaireResponse, questionnaire: Questionnaire): Level {
  return {
    definitions: questionnaire.item ?? [],
    container: response,
    at: RESPONSE_ROOT,
    variables: withVariables(questionnaire, response, baseVariables(response, questionnaire)),
    answers: answersByLinkId(response.item),
  };
}

/** The answers a FHIRPath result gives a question of this type; undefined when it cannot be one. */
export function toAnswers(definition: QuestionnaireItem, values: readonly TypedValue[]): QuestionnaireResponseItemAnswer[] | undefined {
  if (values.length > 1 && definition.repeats !== true) {
    return undefined;
  }
  const answers: QuestionnaireResponseItemAnswer[] = [];
  for (const { value } of values) {
    const answer = toAnswer(definition.type, value);
    if (!answer) {
      return undefined;
    }
    answers.push(answer);
  }
  return answers;
}

function toAnswer(type: QuestionnaireItem['type'], value: unknown): QuestionnaireResponseItemAnswer | undefined {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? { valueInteger: value } : undefined;
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) ? { valueDecimal: value } : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? { valueBoolean: value } : undefined;
    case 'string':
    case 'text':
      return typeof value === 'string' ? { valueString: value } : undefined;
    case 'url':
      return typeof value === 'string' ? { valueUri: value } : undefined;
    case 'date':
      return typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value) ? { valueDate: value } : undefined;
    case 'dateTime':
      return typeof value === 'string' ? { valueDateTime: value } : undefined;
    case 'time':
      return typeof value === 'string' ? { valueTime: value } : undefined;
    case 'quantity':
      return typeof value === 'object' && value !== null && typeof (value as Quantity).value === 'number' ? { valueQuantity: value } : undefined;
    case 'choice':
    case 'open-choice':
      if (typeof value === 'object' && value !== null && typeof (value as Coding).code === 'string') {
        return { valueCoding: value };
      }
      return type === 'open-choice' && typeof value === 'string' ? { valueString: value } : undefined;
    default:
      return undefined;
  }
}

/**
 * The response with the answers the server derives filled in (a copy; the input is left as it
 * is). Not completed, or no SDC expressions: the response itself. Calculations may use each
 * other, so the walk repeats until nothing changes (at most once per derived question).
 */
export function fillCalculatedItems(response: QuestionnaireResponse, questionnaire: Questionnaire, options: StatusOption = {}): QuestionnaireResponse {
  if (!(options.anyStatus === true || isCompleted(response)) || !hasSdcExpressions(questionnaire)) {
    return response;
  }
  const filled = structuredClone(response);
  const rounds = linkIdsOf(questionnaire.item).size + 1;
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    walk(
      rootLevel(filled, questionnaire),
      ({ definition, level, item }) => {
        const expression = fhirPathOf(definition, CALCULATED_EXPRESSION) ?? fhirPathOf(definition, INITIAL_EXPRESSION);
        if (definition.readOnly !== true || expression === undefined || (item?.answer?.length ?? 0) > 0) {
          return;
        }
        const target: QuestionnaireResponseItem = item ?? { linkId: definition.linkId };
        const result = evaluate(expression, target, withVariables(definition, target, level.variables));
        const answers = result.ok ? toAnswers(definition, result.values) : undefined;
        if (!answers?.length) {
          return;
        }
        target.answer = answers;
        if (!item) {
          insertInOrder(level, definition, target);
        }
        changed = true;
      },
      true
    );
    if (!changed) {
      break;
    }
  }
  return filled;
}

function sameNumber(a: number, b: number): boolean {
  // FHIRPath decimals are JavaScript numbers in @medplum/core: 0.1 + 0.2 is 0.30000000000000004,
  // which a client computing in exact decimals sends as 0.3.
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function sameAnswer(given: ChoiceValue | undefined, expected: ChoiceValue | undefined): boolean {
  if (!given || !expected || given.type !== expected.type) {
    return false;
  }
  switch (given.type) {
    case 'Decimal':
      return sameNumber(given.value as number, expected.value as number);
    case 'Quantity': {
      const [a, b] = [given.value as Quantity, expected.value as Quantity];
      return a.value !== undefined && b.value !== undefined && sameNumber(a.value, b.value) && (a.code ?? a.unit) === (b.code ?? b.unit);
    }
    case 'Coding': {
      const [a, b] = [given.value as { system?: string; code?: string }, expected.value as { system?: string; code?: string }];
      return a.system === b.system && a.code === b.code;
    }
    default:
      return given.value === expected.value;
  }
}

/** Issues for client answers to read-only calculated questions that differ from the calculated ones. */
export function calculatedIssues(response: QuestionnaireResponse, questionnaire: Questionnaire, options: StatusOption = {}): OperationOutcomeIssue[] {
  if (!(options.anyStatus === true || isCompleted(response)) || !hasSdcExpressions(questionnaire)) {
    return [];
  }
  const issues: OperationOutcomeIssue[] = [];
  walk(
    rootLevel(response, questionnaire),
    ({ definition, level, item, at }) => {
      const expression = fhirPathOf(definition, CALCULATED_EXPRESSION);
      const given = item?.answer ?? [];
      if (definition.readOnly !== true || expression === undefined || !item || !at || given.length === 0) {
        return;
      }
      const result = evaluate(expression, item, withVariables(definition, item, level.variables));
      const expected = result.ok ? toAnswers(definition, result.values) : undefined;
      if (!expected) {
        return;
      }
      const same = expected.length === given.length && given.every((answer, j) => sameAnswer(choiceValue(answer, 'value'), choiceValue(expected[j] ?? {}, 'value')));
      if (!same) {
        const shown = expected.map((a) => JSON.stringify(choiceValue(a, 'value')?.value)).join(', ') || 'no value';
        issues.push(
          issue({
            code: 'business-rule',
            text: `${definition.linkId} is calculated (calculatedExpression) and read-only: its value is ${shown}, not what was sent`,
            expression: expressions(at),
          })
        );
      }
    },
    false
  );
  return issues;
}
