/**
 * A QuestionnaireResponse checked against its Questionnaire
 * (https://hl7.org/fhir/R4/questionnaireresponse.html, "Questionnaire validation"):
 * - every item's linkId exists in the Questionnaire at that place in the tree (structure);
 * - an item appears once among its siblings unless it is a repeating group, and a question has
 *   one answer unless it repeats (structure);
 * - group and display items carry no answers, a question's children sit under its answers (structure);
 * - answers have the item's type and lie within its range, options and value set (answer-rules.ts);
 * - an item that enableWhen disables carries no answers (business-rule);
 * - when the response is completed (or amended), every enabled required item is answered (required).
 * Issue locations follow response-paths.ts.
 */
import type {
  OperationOutcomeIssue,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
} from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcomes.js';
import type { ResolvedValueSet } from '../../terminology/stored-terminology.js';
import { answerIssues } from './answer-rules.js';
import { answersByLinkId, isEnabled, type AnswerLookup } from './enable-when.js';
import { answerLocation, expressions, itemLocation, missingExpressions, RESPONSE_ROOT, type ItemLocation } from './response-paths.js';

interface Walk {
  /** What enableWhen conditions see: the answers of the innermost repetition that defines the question. */
  readonly answers: AnswerLookup;
  /** Required items must be answered: the response is completed or amended. */
  readonly complete: boolean;
  readonly allLinkIds: ReadonlySet<string>;
  /** The Questionnaire's answerValueSets, resolved. */
  readonly valueSets: ReadonlyMap<string, ResolvedValueSet>;
  readonly issues: OperationOutcomeIssue[];
}

function linkIdsOf(items: readonly QuestionnaireItem[] | undefined, into = new Set<string>()): Set<string> {
  for (const item of items ?? []) {
    into.add(item.linkId);
    linkIdsOf(item.item, into);
  }
  return into;
}

/**
 * The walk inside one group instance or one answer: a condition on a question defined in there
 * looks at this repetition's answers only (an unanswered question here is unanswered, whatever
 * other repetitions say); questions defined elsewhere are looked up outside.
 */
function within(walk: Walk, definitions: readonly QuestionnaireItem[], items: readonly QuestionnaireResponseItem[]): Walk {
  const local = linkIdsOf(definitions);
  const answers = answersByLinkId(items);
  const outer = walk.answers;
  return { ...walk, answers: { get: (linkId) => (local.has(linkId) ? (answers.get(linkId) ?? []) : outer.get(linkId)) } };
}

function hasAnswers(item: QuestionnaireResponseItem): boolean {
  return (item.answer?.length ?? 0) > 0 || (item.item ?? []).some(hasAnswers);
}

function checkQuestion(walk: Walk, definition: QuestionnaireItem, item: QuestionnaireResponseItem, at: ItemLocation): void {
  if (item.item?.length) {
    walk.issues.push(
      issue({ code: 'structure', text: `${definition.linkId} is a question: items under it belong in its answers`, expression: expressions(at) })
    );
  }
  const answers = item.answer ?? [];
  if (answers.length > 1 && definition.repeats !== true) {
    walk.issues.push(
      issue({
        code: 'structure',
        text: `${definition.linkId} does not repeat: it takes one answer, not ${answers.length}`,
        expression: expressions(answerLocation(at, 1)),
      })
    );
  }
  if (answers.length === 0 && walk.complete && definition.required === true) {
    walk.issues.push(issue({ code: 'required', text: `${definition.linkId} is required and has no answer`, expression: expressions(at) }));
  }
  answers.forEach((answer, j) => {
    const answerAt = answerLocation(at, j);
    walk.issues.push(...answerIssues(definition, answer, answerAt, walk.valueSets));
    if (definition.item?.length || answer.item?.length) {
      checkItems(within(walk, definition.item ?? [], answer.item ?? []), definition.item ?? [], answer.item ?? [], answerAt, true);
    }
  });
}

function checkItem(walk: Walk, definition: QuestionnaireItem, item: QuestionnaireResponseItem, at: ItemLocation, enabled: boolean): void {
  if (!enabled) {
    if (hasAnswers(item)) {
      walk.issues.push(
        issue({ code: 'business-rule', text: `${definition.linkId} is not enabled (enableWhen) and must not be answered`, expression: expressions(at) })
      );
    }
    return;
  }
  if (definition.type === 'display' || definition.type === 'group') {
    if (item.answer?.length) {
      walk.issues.push(
        issue({ code: 'structure', text: `${definition.linkId} is a ${definition.type} item and has no answers`, expression: expressions(answerLocation(at, 0)) })
      );
    }
    if (definition.type === 'group') {
      checkItems(within(walk, definition.item ?? [], item.item ?? []), definition.item ?? [], item.item ?? [], at, true);
    }
    return;
  }
  checkQuestion(walk, definition, item, at);
}

function checkItems(
  walk: Walk,
  definitions: readonly QuestionnaireItem[],
  items: readonly QuestionnaireResponseItem[],
  parent: ItemLocation,
  enabled: boolean
): void {
  const counts = new Map<string, number>();
  for (const item of items) {
    counts.set(item.linkId, (counts.get(item.linkId) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const occurrence = seen.get(item.linkId) ?? 0;
    seen.set(item.linkId, occurrence + 1);
    const at = itemLocation(parent, i, item.linkId, occurrence, (counts.get(item.linkId) ?? 0) > 1);
    const definition = definitions.find((d) => d.linkId === item.linkId);
    if (!definition) {
      const elsewhere = walk.allLinkIds.has(item.linkId) ? ' at this place' : '';
      walk.issues.push(issue({ code: 'structure', text: `The Questionnaire has no item ${item.linkId}${elsewhere}`, expression: expressions(at) }));
      return;
    }
    if (occurrence === 1 && !(definition.type === 'group' && definition.repeats === true)) {
      walk.issues.push(
        issue({ code: 'structure', text: `${definition.linkId} may appear only once here (it is not a repeating group)`, expression: expressions(at) })
      );
    }
    checkItem(walk, definition, item, at, enabled && isEnabled(definition, walk.answers));
  });
  if (!walk.complete || !enabled) {
    return;
  }
  for (const definition of definitions) {
    if (definition.required === true && definition.type !== 'display' && !counts.has(definition.linkId) && isEnabled(definition, walk.answers)) {
      walk.issues.push(
        issue({ code: 'required', text: `${definition.linkId} is required and missing`, expression: missingExpressions(parent, definition.linkId) })
      );
    }
  }
}

/** Every issue of a response against its Questionnaire; empty when it conforms. */
export function responseIssues(
  response: QuestionnaireResponse,
  questionnaire: Questionnaire,
  valueSets: ReadonlyMap<string, ResolvedValueSet> = new Map()
): OperationOutcomeIssue[] {
  const walk: Walk = {
    valueSets,
    answers: answersByLinkId(response.item),
    complete: response.status === 'completed' || response.status === 'amended',
    allLinkIds: linkIdsOf(questionnaire.item),
    issues: [],
  };
  checkItems(walk, questionnaire.item ?? [], response.item ?? [], RESPONSE_ROOT, true);
  return walk.issues;
}
