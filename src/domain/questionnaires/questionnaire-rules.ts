/**
 * Rules for writing a Questionnaire: its score definitions must be well-formed (422), and its
 * canonical url|version must name only it (409 duplicate), because responses, scores and
 * schedules find their Questionnaire by that canonical (resolve-questionnaire.ts).
 */
import type { Questionnaire } from '@medplum/fhirtypes';
import { issue, OperationOutcomeError, outcome, unprocessable } from '../../fhir/outcomes.js';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import { findResources, searchValue } from '../find-resources.js';
import { scoreDefinitionIssues } from './score-definitions.js';

export async function checkQuestionnaireWrite(repo: Repository, search: SearchService, questionnaire: Questionnaire, id: string): Promise<void> {
  const issues = scoreDefinitionIssues(questionnaire);
  if (issues.length > 0) {
    throw unprocessable(issues);
  }
  const { url, version } = questionnaire;
  if (url === undefined || version === undefined) {
    return;
  }
  // Two writers of the same canonical queue here, so that they cannot both find it free.
  await repo.lock(`Questionnaire|${url}|${version}`);
  const same = await findResources<Questionnaire>(repo, search, 'Questionnaire', [
    ['url', searchValue(url)],
    ['version', searchValue(version)],
  ]);
  const other = same.find((q) => q.id !== id && q.url === url && q.version === version);
  if (other) {
    throw new OperationOutcomeError(
      outcome('conflict', [
        issue({
          code: 'duplicate',
          text: `Questionnaire/${other.id} already has the canonical ${url}|${version}; a new version needs a new version number`,
          expression: 'Questionnaire.version',
        }),
      ])
    );
  }
}
