/**
 * The value sets a Questionnaire binds its choice items to (`answerValueSet`), resolved once per
 * response write: contained ones (`#id`), stored ones and those of R4
 * (terminology/stored-terminology.ts).
 */
import type { Questionnaire, QuestionnaireItem, ValueSet } from '@medplum/fhirtypes';
import type { Queryable } from '../../storage/database.js';
import { resolveValueSets, type ResolvedValueSet } from '../../terminology/stored-terminology.js';

function answerValueSets(items: readonly QuestionnaireItem[] | undefined, into: Set<string>): Set<string> {
  for (const item of items ?? []) {
    if (item.answerValueSet) {
      into.add(item.answerValueSet);
    }
    answerValueSets(item.item, into);
  }
  return into;
}

export async function resolveAnswerValueSets(db: Queryable, questionnaire: Questionnaire): Promise<ReadonlyMap<string, ResolvedValueSet>> {
  const canonicals = answerValueSets(questionnaire.item, new Set());
  if (canonicals.size === 0) {
    return new Map();
  }
  const contained = new Map<string, ValueSet>();
  for (const resource of questionnaire.contained ?? []) {
    if (resource.resourceType === 'ValueSet' && resource.id) {
      contained.set(`#${resource.id}`, resource);
    }
  }
  return resolveValueSets(db, [...canonicals], contained);
}
