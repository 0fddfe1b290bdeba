/**
 * A referral to interdisciplinary rehabilitation (IMSR) needs a triage that shows primary care was
 * tried (VRA behandelkader Aanhoudende pijn 2025: before IMSR the rehabilitation physician checks
 * it; if not, the patient is referred back to primary care). Refused with 422 otherwise, one issue
 * per missing item, the item's code (profiles/codesystem-pain-triage.json) in details.coding and
 * diagnostics.
 *
 * A referral asks for IMSR the way referrals already say which care they ask for: the wpn-level
 * extension (profiles/wpn-level.json) at 3 or 4, the levels the framework treats with IMSR. A
 * referral that asks for the triage itself (ServiceRequest.code `triage-request`) is how a triage
 * comes about, so it needs none. The triage counts when it is based on this referral or on one the
 * referral is based on (the referral the rehabilitation physician triaged), is about the same
 * patient, and is final. The rule runs when a referral becomes one to IMSR (created so, or updated
 * from something else, e.g. draft to active); later updates of it (the Task completing it) pass.
 * Deferred to the end of a transaction Bundle, so triage and referral may come in either order.
 * Switched off by IMSR_REQUIRES_TRIAGE=false (config.ts).
 */
import type { Observation, OperationOutcomeIssue, ServiceRequest } from '@medplum/fhirtypes';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import type { Repository } from '../../repository/repository.js';
import type { ResourceChange, WriteHook } from '../../repository/types.js';
import type { SearchService } from '../../search/types.js';
import { PAIN_TRIAGE_SYSTEM } from '../canonical-urls.js';
import { isFinalTriage, PRIMARY_CARE_ITEMS, triageDate, triageGaps, type TriageGap } from './pain-triage.js';
import { WPN_LEVEL_EXTENSION } from './profiles.js';
import { localKey, parsed } from './stored-resources.js';

/** WPN levels whose care is IMSR (profiles/codesystem-wpn-level.json). */
const IMSR_LEVELS = new Set([3, 4]);
/** More triages than this for one referral chain would be odd; the latest of them are read. */
const MAX_TRIAGES = 20;

const GAP_TEXT: Record<TriageGap, string> = {
  triage: 'No final triage (Observation, code pain-triage#triage) is based on this referral or on the referral it is based on',
  'professionals-involved': 'The triage does not show that primary care professionals were involved',
  'pain-education': 'The triage does not show that pain education was given',
  'activities-participation': 'The triage does not show that treatment aimed at activities and participation',
  decision: 'The triage does not accept the patient for IMSR (decision imsr-outpatient or imsr-clinical)',
};

/** Whether a ServiceRequest is an active referral that asks for IMSR. */
export function asksForImsr(request: ServiceRequest): boolean {
  const level = (request.extension ?? []).find((e) => e.url === WPN_LEVEL_EXTENSION)?.valueInteger;
  const asksForTriage = (request.code?.coding ?? []).some((c) => c.system === PAIN_TRIAGE_SYSTEM && c.code === 'triage-request');
  return request.intent === 'order' && request.status === 'active' && level !== undefined && IMSR_LEVELS.has(level) && !asksForTriage;
}

function gapIssue(gap: TriageGap): OperationOutcomeIssue {
  const found = issue({ code: 'business-rule', text: GAP_TEXT[gap], diagnostics: gap, ...(gap === 'triage' ? { expression: 'ServiceRequest.basedOn' } : {}) });
  return { ...found, details: { ...found.details, coding: [{ system: PAIN_TRIAGE_SYSTEM, code: gap }] } };
}

/** The final triages of the referral's patient based on the referral or on one it is based on. */
async function triagesFor(search: SearchService, repo: Repository, id: string, referral: ServiceRequest, baseUrl: string | undefined): Promise<Observation[]> {
  const referrals = [`ServiceRequest/${id}`, ...(referral.basedOn ?? []).map((b) => localKey(b, baseUrl)).filter((k) => k?.startsWith('ServiceRequest/') === true)];
  const ids = await search.findIds(repo.queryable, 'Observation', [['based-on', [...new Set(referrals)].join(',')], ['code', `${PAIN_TRIAGE_SYSTEM}|triage`]], MAX_TRIAGES);
  const patient = localKey(referral.subject, baseUrl);
  const triages: Observation[] = [];
  for (const triageId of ids) {
    const current = await repo.readCurrent('Observation', triageId);
    const triage = current && !current.deleted ? parsed<Observation>(current.json) : undefined;
    if (triage && isFinalTriage(triage) && (patient === undefined || localKey(triage.subject, baseUrl) === patient)) {
      triages.push(triage);
    }
  }
  return triages;
}

async function check(search: SearchService, repo: Repository, change: ResourceChange, written: ServiceRequest): Promise<void> {
  // Outside a transaction Bundle the check runs before the store (Repository.deferCheck), so the
  // current row is still the previous version; inside one it runs after all entries, and a later
  // entry may have changed the referral again.
  const current = await repo.readCurrent('ServiceRequest', change.version.id);
  const later = current !== undefined && current.versionId > change.version.versionId;
  const referral = later ? (current.deleted ? undefined : parsed<ServiceRequest>(current.json)) : written;
  if (!referral || !asksForImsr(referral)) {
    return;
  }
  const triages = await triagesFor(search, repo, change.version.id, referral, change.baseUrl);
  if (triages.some((t) => triageGaps(t).length === 0)) {
    return;
  }
  // Name what the latest triage lacks; without one, everything is missing.
  const latest = triages.sort((a, b) => triageDate(b).localeCompare(triageDate(a)))[0];
  const gaps: TriageGap[] = latest ? triageGaps(latest) : ['triage', ...PRIMARY_CARE_ITEMS, 'decision'];
  throw unprocessable(gaps.map(gapIssue));
}

export function imsrTriageRule(search: SearchService): WriteHook {
  return {
    async beforeWrite(repo, change) {
      const request = change.resource;
      if (request?.resourceType !== 'ServiceRequest' || !asksForImsr(request)) {
        return;
      }
      const previous = change.previous && !change.previous.deleted ? parsed<ServiceRequest>(change.previous.json) : undefined;
      if (previous && asksForImsr(previous)) {
        return;
      }
      await repo.deferCheck('ServiceRequest', change.version.id, (r) => check(search, r, change, request));
    },
  };
}
