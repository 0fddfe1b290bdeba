/**
 * The write rules of outcome questionnaires (docs/outcome-questionnaires.md), run inside every write's transaction:
 * - a Questionnaire's score definitions and canonical are checked (questionnaire-rules.ts);
 * - a completed QuestionnaireResponse gets the answers its Questionnaire calculates (SDC
 *   calculatedExpression, calculated-items.ts) before it is stored;
 * - a QuestionnaireResponse that names its Questionnaire is validated against it before it is
 *   stored (response-rules.ts, calculated-items.ts; 422 with the item's position and linkId), and after it is stored
 *   its scores are written as Observations (score-observations.ts) and the measurement Task it
 *   answers is completed (schedules/task-completion.ts), and the answers its Questionnaire marks
 *   for SDC observation-based extraction are stored as Observations (extracted-observations.ts).
 * A response naming a Questionnaire this server does not have is stored with a warning, unscored:
 * it may come from another system's instrument.
 */
import type { OperationOutcomeIssue, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { hasErrors, issue, unprocessable } from '../../fhir/outcomes.js';
import type { ResourceChange, WriteHook } from '../../repository/types.js';
import type { SearchService } from '../../search/types.js';
import { matchMeasurementTask } from '../schedules/task-completion.js';
import { resolveAnswerValueSets } from './answer-value-sets.js';
import { calculatedIssues, fillCalculatedItems, isCompleted } from './calculated-items.js';
import { checkQuestionnaireWrite } from './questionnaire-rules.js';
import { resolveQuestionnaire, type ResolvedQuestionnaire } from './resolve-questionnaire.js';
import { storeExtractedObservations } from './extracted-observations.js';
import { responseIssues } from './response-rules.js';
import { storeScores } from './score-observations.js';

export function questionnaireHooks(search: SearchService): WriteHook {
  // What beforeWrite resolved, for afterWrite of the same write.
  const resolved = new WeakMap<ResourceChange, ResolvedQuestionnaire>();
  return {
    async prepareWrite(repo, resource): Promise<Resource | void> {
      if (resource.resourceType !== 'QuestionnaireResponse' || !resource.questionnaire || !isCompleted(resource)) {
        return;
      }
      const found = await resolveQuestionnaire(repo, search, resource.questionnaire);
      return found ? fillCalculatedItems(resource, found.questionnaire) : undefined;
    },

    async beforeWrite(repo, change): Promise<OperationOutcomeIssue[] | void> {
      const resource = change.resource;
      if (resource?.resourceType === 'Questionnaire') {
        await checkQuestionnaireWrite(repo, search, resource, change.version.id);
        return;
      }
      if (resource?.resourceType !== 'QuestionnaireResponse' || !resource.questionnaire) {
        return;
      }
      const found = await resolveQuestionnaire(repo, search, resource.questionnaire);
      if (!found) {
        return [
          issue({
            severity: 'warning',
            code: 'not-found',
            text: `Questionnaire ${resource.questionnaire} is not known to this server: the response is not validated against it nor scored`,
            expression: 'QuestionnaireResponse.questionnaire',
          }),
        ];
      }
      const valueSets = await resolveAnswerValueSets(repo.queryable, found.questionnaire);
      const issues = [...responseIssues(resource, found.questionnaire, valueSets), ...calculatedIssues(resource, found.questionnaire)];
      if (hasErrors(issues)) {
        throw unprocessable(issues);
      }
      resolved.set(change, found);
      return issues;
    },

    async afterWrite(repo, change): Promise<void> {
      const found = resolved.get(change);
      if (!found || change.resource?.resourceType !== 'QuestionnaireResponse') {
        return;
      }
      const response = change.resource as QuestionnaireResponse & { id: string };
      const options = { fresh: change.previous === undefined, issued: change.version.lastUpdated, now: change.version.lastUpdated, baseUrl: change.baseUrl };
      await storeScores(repo, search, response, found, options);
      await storeExtractedObservations(repo, search, response, found, options);
      await matchMeasurementTask(repo, search, response, found.questionnaire.id, options);
    },
  };
}
