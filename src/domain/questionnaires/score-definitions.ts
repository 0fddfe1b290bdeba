/**
 * The scores a Questionnaire defines, read from its `questionnaire-score` extensions
 * (canonical-urls.ts). Keeping the expression, the items it needs and the missing-item rule in
 * the Questionnaire makes scoring data that is versioned with the instrument: a new rule is a new
 * Questionnaire version, and no code changes. Malformed definitions are refused when the
 * Questionnaire is written (questionnaire-rules.ts), so scoring can rely on them.
 */
import { parseFhirPath } from '@medplum/core';
import type { Coding, Extension, OperationOutcomeIssue, Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcomes.js';
import { SCORE_EXTENSION } from '../canonical-urls.js';

export interface ScoreDefinition {
  /** The Observation code of the score. */
  readonly code: Coding & { code: string };
  /** FHIRPath, evaluated on the QuestionnaireResponse (%resource) with %questionnaire set. */
  readonly expression: string;
  /** linkIds the score needs. */
  readonly items: readonly string[];
  /** How many of `items` may be unanswered; beyond it there is no score (dataAbsentReason). */
  readonly maxMissing: number;
}

function sub(extension: Extension, url: string): Extension[] {
  return (extension.extension ?? []).filter((e) => e.url === url);
}

function linkIds(items: readonly QuestionnaireItem[] | undefined, into = new Set<string>()): Set<string> {
  for (const item of items ?? []) {
    into.add(item.linkId);
    linkIds(item.item, into);
  }
  return into;
}

/** The issues of one score extension at `path`, and the definition when there are none. */
function readDefinition(
  extension: Extension,
  path: string,
  known: ReadonlySet<string>
): { definition?: ScoreDefinition; issues: OperationOutcomeIssue[] } {
  const issues: OperationOutcomeIssue[] = [];
  const fail = (text: string): void => {
    issues.push(issue({ code: 'invalid', text, expression: path }));
  };
  const code = sub(extension, 'code')[0]?.valueCoding;
  if (!code?.code || !code.system) {
    fail('A score needs a `code` sub-extension with a Coding (system and code)');
  }
  const expression = sub(extension, 'expression')[0]?.valueExpression;
  if (!expression?.expression || expression.language !== 'text/fhirpath') {
    fail('A score needs an `expression` sub-extension with a text/fhirpath Expression');
  } else {
    try {
      parseFhirPath(expression.expression);
    } catch (error) {
      fail(`The score expression is not valid FHIRPath: ${(error as Error).message}`);
    }
  }
  const items = sub(extension, 'item').map((e) => e.valueString ?? '');
  for (const linkId of items.filter((id) => !known.has(id))) {
    fail(`The score names item "${linkId}", which the Questionnaire does not have`);
  }
  const maxMissing = sub(extension, 'maxMissing')[0]?.valueInteger ?? 0;
  if (maxMissing < 0) {
    fail('maxMissing cannot be negative');
  }
  if (issues.length > 0) {
    return { issues };
  }
  return {
    issues,
    definition: { code: code as Coding & { code: string }, expression: expression?.expression as string, items, maxMissing },
  };
}

/** Issues of the score definitions of a Questionnaire (empty when they are well-formed). */
export function scoreDefinitionIssues(questionnaire: Questionnaire): OperationOutcomeIssue[] {
  const known = linkIds(questionnaire.item);
  return (questionnaire.extension ?? []).flatMap((e, i) =>
    e.url === SCORE_EXTENSION ? readDefinition(e, `Questionnaire.extension[${i}]`, known).issues : []
  );
}

/** The well-formed score definitions of a Questionnaire. */
export function scoreDefinitions(questionnaire: Questionnaire): ScoreDefinition[] {
  const known = linkIds(questionnaire.item);
  return (questionnaire.extension ?? []).flatMap((e, i) => {
    if (e.url !== SCORE_EXTENSION) {
      return [];
    }
    const { definition } = readDefinition(e, `Questionnaire.extension[${i}]`, known);
    return definition ? [definition] : [];
  });
}
