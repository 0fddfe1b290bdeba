/**
 * How a visit's progress flags reach people (docs/care-workflows.md). A visit over a limit or outside the window
 * is accepted, but:
 * - the write's OperationOutcome carries a warning per flag (Prefer: return=OperationOutcome, and
 *   entry.response.outcome in Bundles), with the flag in details.coding;
 * - a DetectedIssue is stored in the same transaction, implicating the visit and the plan. FHIR
 *   keeps OperationOutcome for the outcome of an operation and names DetectedIssue for "clinical
 *   or workflow issues associated with a proposed or ongoing action"
 *   (https://hl7.org/fhir/R4/operationoutcome.html#scope), and R4 lets a write without Prefer
 *   return only the resource (http.html#ops). A stored DetectedIssue is how a client that sent no
 *   Prefer, and every other member of the care team, learns about it:
 *   `DetectedIssue?implicated=Procedure/{id}` or `DetectedIssue?patient=…&code=…|over-limit`.
 * Texts are Dutch: professionals read them in their own systems.
 */
import type { CarePlan, DetectedIssue, OperationOutcomeIssue, Patient, Reference } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcomes.js';
import { PROGRESS_FLAGS } from './profiles.js';
import type { PlanProgress, VisitFlag } from './progress.js';
import type { Visit } from './visits.js';

interface Finding {
  readonly flag: VisitFlag;
  readonly text: string;
}

const DISPLAY: Record<VisitFlag, string> = {
  'over-limit': 'Meer sessies dan het zorgplan toestaat',
  'on-indication': 'Extra sessie op indicatie',
  'outside-window': 'Buiten de looptijd van het zorgplan',
  unplanned: 'Niet gekoppeld aan een activiteit van het zorgplan',
};

export function flagDisplay(flag: VisitFlag): string {
  return DISPLAY[flag];
}

/** Flags that need someone's attention; on-indication is information only. */
export function isWarning(flag: VisitFlag): boolean {
  return flag !== 'on-indication';
}

function activityName(progress: PlanProgress, index: number): string {
  const limit = progress.activities.find((a) => a.limit.index === index)?.limit;
  return limit?.code?.text ?? limit?.code?.coding?.[0]?.display ?? `activiteit ${index + 1}`;
}

/** What the plan's progress says about one visit, in words. */
export function findingsFor(progress: PlanProgress, planReference: string, visit: Visit): Finding[] {
  const findings: Finding[] = [];
  for (const activity of progress.activities) {
    const rank = activity.visits.findIndex((v) => v.visit.reference === visit.reference);
    if (rank === -1) {
      continue;
    }
    const name = activityName(progress, activity.limit.index);
    for (const flag of activity.visits[rank]?.flags ?? []) {
      const text =
        flag === 'outside-window'
          ? `${DISPLAY[flag]} (${progress.window.start ?? '?'} t/m ${progress.window.end ?? '?'}), ${name}, ${planReference}`
          : `${DISPLAY[flag]}: sessie ${rank + 1} van ${activity.limit.allowed ?? '?'}${activity.limit.onIndication > 0 ? ` (+${activity.limit.onIndication} op indicatie)` : ''}, ${name}, ${planReference}`;
      findings.push({ flag, text });
    }
  }
  for (const entry of progress.unplanned.filter((v) => v.visit.reference === visit.reference)) {
    for (const flag of entry.flags) {
      findings.push({ flag, text: `${DISPLAY[flag]} (${planReference})` });
    }
  }
  return findings;
}

/** The write's warnings (and information) for the findings. */
export function findingIssues(findings: readonly Finding[], resourceType: string): OperationOutcomeIssue[] {
  return findings.map(({ flag, text }) => {
    const expression = flag === 'outside-window' ? (resourceType === 'Procedure' ? 'Procedure.performed' : 'Encounter.period') : `${resourceType}.basedOn`;
    const found = issue({ severity: isWarning(flag) ? 'warning' : 'information', code: isWarning(flag) ? 'business-rule' : 'informational', text, expression });
    return { ...found, details: { ...found.details, coding: [{ system: PROGRESS_FLAGS, code: flag, display: DISPLAY[flag] }] } };
  });
}

/** The DetectedIssue that records a warning finding for the care team. */
export function detectedIssue(plan: CarePlan, planReference: string, visit: Visit, finding: Finding): DetectedIssue {
  return {
    resourceType: 'DetectedIssue',
    status: 'final',
    code: { coding: [{ system: PROGRESS_FLAGS, code: finding.flag, display: DISPLAY[finding.flag] }], text: DISPLAY[finding.flag] },
    severity: finding.flag === 'over-limit' ? 'moderate' : 'low',
    ...(plan.subject.reference?.startsWith('Patient/') ? { patient: plan.subject as Reference<Patient> } : {}),
    identifiedDateTime: new Date().toISOString(),
    implicated: [{ reference: visit.reference }, { reference: planReference }],
    detail: finding.text,
  };
}
