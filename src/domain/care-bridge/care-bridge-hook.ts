/**
 * Care-plan limits on every visit write (docs/care-workflows.md): when a Procedure or Encounter that counts as a
 * visit is based on a CarePlan (or on the ServiceRequest of one of its activities), the plan's
 * progress is computed with the visit in place and the visit's flags become warnings on the write
 * and DetectedIssues (visit-findings.ts). The write itself is never refused for a limit: the care
 * bridge's limits are agreements that professionals may exceed with a reason.
 *
 * The hook reads as the server, not as the caller: a limit counts every visit, whoever may see it.
 * In a transaction Bundle, visits count against plans written in earlier entries (entries of one
 * kind are processed in order, http.html#trules) and the pending writes are flushed first, so a
 * Bundle of ten visits sees all ten.
 */
import type { CarePlan, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import type { ResourceChange, WriteHook } from '../../repository/types.js';
import type { SearchService } from '../../search/types.js';
import type { DomainSearch } from '../search-pages.js';
import { assertCareBridgeWindow } from './care-bridge-plan-rules.js';
import { loadPlanData } from './plan-data.js';
import { planProgress } from './progress.js';
import { PROGRESS_FLAGS } from './profiles.js';
import { detectedIssue, findingIssues, findingsFor, isWarning } from './visit-findings.js';
import { visitOf, type Visit } from './visits.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

const MAX_PLANS = 20;

/** The plans a visit counts for: those it is based on, and those whose activities reference its requests. */
async function plansOf(search: SearchService, repo: Repository, visit: Visit): Promise<string[]> {
  const plans = visit.basedOn.filter((r) => r.startsWith('CarePlan/')).map((r) => r.slice('CarePlan/'.length));
  const requests = visit.basedOn.filter((r) => r.startsWith('ServiceRequest/'));
  if (requests.length > 0) {
    plans.push(...(await search.findIds(repo.queryable, 'CarePlan', [['activity-reference', requests.join(',')]], MAX_PLANS)));
  }
  return [...new Set(plans)];
}

async function alreadyRecorded(search: SearchService, repo: Repository, visit: Visit, plan: string, flag: string): Promise<boolean> {
  const found = await search.findIds(
    repo.queryable,
    'DetectedIssue',
    [['implicated', visit.reference], ['implicated', plan], ['code', `${PROGRESS_FLAGS}|${flag}`]],
    1
  );
  return found.length > 0;
}

async function checkVisit(search: SearchService, repo: Repository, change: ResourceChange, visit: Visit): Promise<OperationOutcomeIssue[]> {
  const planIds = await plansOf(search, repo, visit);
  if (planIds.length === 0) {
    return [];
  }
  // Visits written earlier in this transaction must be in the tables the search reads.
  await repo.flushWrites();
  const ctx: DomainSearch = { search, db: repo.queryable, baseUrl: change.baseUrl ?? '' };
  const warnings: OperationOutcomeIssue[] = [];
  for (const id of planIds) {
    const current = await repo.readCurrent('CarePlan', id);
    if (!current || current.deleted || current.json === undefined) {
      continue;
    }
    const plan = parseStoredJson<CarePlan>(current.json);
    const data = await loadPlanData(ctx, plan);
    const progress = planProgress(data.reference, data.limits, data.visits, new Date().toISOString().slice(0, 10));
    const findings = findingsFor(progress, data.reference, visit);
    warnings.push(...findingIssues(findings, change.version.resourceType));
    for (const finding of findings.filter((f) => isWarning(f.flag))) {
      if (!(await alreadyRecorded(search, repo, visit, data.reference, finding.flag))) {
        await repo.create(detectedIssue(plan, data.reference, visit, finding), change.baseUrl === undefined ? {} : { baseUrl: change.baseUrl });
      }
    }
  }
  return warnings;
}

export function careBridgeHook(search: SearchService): WriteHook {
  return {
    async beforeWrite(_repo, change) {
      if (change.resource?.resourceType === 'CarePlan') {
        assertCareBridgeWindow(change.resource);
      }
    },
    async afterWrite(repo, change) {
      const visit = change.resource ? visitOf(change.resource, change.baseUrl) : undefined;
      if (!visit?.counts) {
        return;
      }
      return checkVisit(search, repo, change, visit);
    },
  };
}
