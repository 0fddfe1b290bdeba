/**
 * Rules for one answer of one question: its type must be the one the item's type asks for
 * (https://hl7.org/fhir/R4/questionnaireresponse.html#8.29.3, "answer types"), and its value
 * must lie within the item's minValue/maxValue extensions, its maxLength, and, for choice
 * items, its answerOptions or its answerValueSet. A value set this server cannot expand (unknown,
 * or defined by filters that need a terminology server) leaves the answer unchecked, with a warning.
 */
import type { Coding, Extension, OperationOutcomeIssue, QuestionnaireItem, QuestionnaireResponseItemAnswer } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcomes.js';
import type { ResolvedValueSet } from '../../terminology/stored-terminology.js';
import { choiceValue, compareValues, valuesEqual, type ChoiceValue } from './answer-values.js';
import { elementLocation, expressions, type ItemLocation } from './response-paths.js';

const MIN_VALUE = 'http://hl7.org/fhir/StructureDefinition/minValue';
const MAX_VALUE = 'http://hl7.org/fhir/StructureDefinition/maxValue';

/** Answer types per item type; choice items also take the types of their answerOptions. */
const ANSWER_TYPES: Record<QuestionnaireItem['type'], readonly string[]> = {
  // `question` is abstract in R4 (item-type is a required binding without it).
  question: [],
  group: [],
  display: [],
  boolean: ['Boolean'],
  decimal: ['Decimal'],
  integer: ['Integer'],
  date: ['Date'],
  dateTime: ['DateTime'],
  time: ['Time'],
  string: ['String'],
  text: ['String'],
  url: ['Uri'],
  choice: ['Coding'],
  'open-choice': ['Coding', 'String'],
  attachment: ['Attachment'],
  reference: ['Reference'],
  quantity: ['Quantity'],
};

export function allowedAnswerTypes(item: QuestionnaireItem): string[] {
  const types = new Set(ANSWER_TYPES[item.type]);
  if (item.type === 'choice' || item.type === 'open-choice') {
    for (const option of item.answerOption ?? []) {
      const value = choiceValue(option, 'value');
      if (value) {
        types.add(value.type);
      }
    }
  }
  return [...types];
}

function bound(item: QuestionnaireItem, url: string): ChoiceValue | undefined {
  const extension = item.extension?.find((e: Extension) => e.url === url);
  return extension ? choiceValue(extension, 'value') : undefined;
}

function describe(value: ChoiceValue): string {
  const v = value.value;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function rangeIssues(item: QuestionnaireItem, value: ChoiceValue, at: ItemLocation): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const min = bound(item, MIN_VALUE);
  const max = bound(item, MAX_VALUE);
  const below = min && (compareValues(value, min) ?? 0) < 0;
  const above = max && (compareValues(value, max) ?? 0) > 0;
  if (below || above) {
    const range = `${min ? describe(min) : '…'} to ${max ? describe(max) : '…'}`;
    issues.push(
      issue({ code: 'value', text: `Answer ${describe(value)} to ${item.linkId} is outside ${range}`, expression: expressions(at) })
    );
  }
  if (item.maxLength !== undefined && typeof value.value === 'string' && [...value.value].length > item.maxLength) {
    issues.push(
      issue({ code: 'value', text: `Answer to ${item.linkId} is longer than ${item.maxLength} characters`, expression: expressions(at) })
    );
  }
  return issues;
}

function optionIssues(item: QuestionnaireItem, value: ChoiceValue, at: ItemLocation): OperationOutcomeIssue[] {
  const options = (item.answerOption ?? []).map((o) => choiceValue(o, 'value')).filter((o): o is ChoiceValue => o !== undefined);
  // A free-text answer to an open-choice item is the "other" the type exists for.
  const freeText = item.type === 'open-choice' && value.type === 'String';
  if (options.length === 0 || freeText || options.some((o) => valuesEqual(value, o))) {
    return [];
  }
  return [issue({ code: 'value', text: `Answer ${describe(value)} to ${item.linkId} is not one of its answerOptions`, expression: expressions(at) })];
}

function valueSetIssues(item: QuestionnaireItem, value: ChoiceValue, at: ItemLocation, valueSets: ReadonlyMap<string, ResolvedValueSet>): OperationOutcomeIssue[] {
  const canonical = item.answerValueSet;
  if (canonical === undefined || value.type !== 'Coding') {
    return [];
  }
  const coding = value.value as Coding;
  const resolved = valueSets.get(canonical);
  if (!resolved?.expansion) {
    const why = resolved?.found ? 'cannot be expanded here' : 'is not known to this server';
    return [issue({ severity: 'warning', code: 'not-supported', text: `Answer to ${item.linkId} is not checked: ValueSet ${canonical} ${why}`, expression: expressions(at) })];
  }
  if (resolved.expansion.contains(coding.system, coding.code)) {
    return [];
  }
  return [
    issue({
      code: 'value',
      text: `Answer ${coding.system ?? '(no system)'}|${coding.code ?? '(no code)'} to ${item.linkId} is not in its answerValueSet ${canonical}`,
      expression: expressions(at),
    }),
  ];
}

/** Issues of one answer (at `at`, e.g. `…item[2].answer[0]`) to a question item. */
export function answerIssues(
  item: QuestionnaireItem,
  answer: QuestionnaireResponseItemAnswer,
  at: ItemLocation,
  valueSets: ReadonlyMap<string, ResolvedValueSet> = new Map()
): OperationOutcomeIssue[] {
  const value = choiceValue(answer, 'value');
  if (!value) {
    // answer.value[x] is optional (0..1): an answer may hold only the items nested under it.
    return [];
  }
  const allowed = allowedAnswerTypes(item);
  if (!allowed.includes(value.type)) {
    return [
      issue({
        code: 'structure',
        text: `${item.linkId} is a ${item.type} item: its answer must be value${allowed.join(' or value')}, not value${value.type}`,
        expression: expressions(elementLocation(at, `value${value.type}`)),
      }),
    ];
  }
  if (item.type === 'choice' || item.type === 'open-choice') {
    return [...optionIssues(item, value, at), ...valueSetIssues(item, value, at, valueSets)];
  }
  return rangeIssues(item, value, at);
}
