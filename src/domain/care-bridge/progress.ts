/**
 * Sessions used against a plan's limits (docs/care-workflows.md), computed from the plan and its visits:
 * - a visit belongs to the activity whose ServiceRequest it is based on, or, when it is based on
 *   the CarePlan itself, to the first activity whose detail.code shares a coding with the visit's
 *   code (a physiotherapy Procedure to the physiotherapy activity); otherwise it is `unplanned`;
 * - counted visits of an activity are ranked by date: rank beyond the allowed sessions is
 *   `on-indication` while within countMax, and `over-limit` beyond that;
 * - a visit dated before the window's first or after its last day is `outside-window`.
 * Days are calendar days (dates.ts); the window's last day is inclusive.
 */
import type { CodeableConcept } from '@medplum/fhirtypes';
import { dateOnly, daysBetween } from './dates.js';
import type { ActivityLimit, PlanLimits, PlanWindow } from './plan-limits.js';
import { byDate, type Visit } from './visits.js';

export type VisitFlag = 'over-limit' | 'on-indication' | 'outside-window' | 'unplanned';

export interface VisitProgress {
  readonly visit: Visit;
  readonly flags: readonly VisitFlag[];
}

export interface ActivityProgress {
  readonly limit: ActivityLimit;
  readonly used: number;
  readonly visits: readonly VisitProgress[];
}

export interface WindowProgress extends PlanWindow {
  /** Days from the first to the last day. */
  readonly daysTotal: number | undefined;
  /** Days from `asOf` to the last day, at least 0 and at most daysTotal. */
  readonly daysLeft: number | undefined;
}

export interface PlanProgress {
  readonly asOf: string;
  readonly window: WindowProgress;
  readonly activities: readonly ActivityProgress[];
  readonly unplanned: readonly VisitProgress[];
}

function sharesCoding(a: CodeableConcept | undefined, b: CodeableConcept | undefined): boolean {
  return (a?.coding ?? []).some((x) => (b?.coding ?? []).some((y) => x.system === y.system && x.code === y.code));
}

/** The activity a visit counts for, if any. */
export function matchActivity(planReference: string, limits: PlanLimits, visit: Visit): ActivityLimit | undefined {
  const byRequest = limits.activities.find((a) => a.request !== undefined && visit.basedOn.includes(a.request));
  if (byRequest) {
    return byRequest;
  }
  if (!visit.basedOn.includes(planReference)) {
    return undefined;
  }
  return limits.activities.find((a) => a.request === undefined && sharesCoding(a.code, visit.code));
}

function outsideWindow(window: PlanWindow, date: string | undefined): boolean {
  const day = dateOnly(date);
  if (day === undefined) {
    return false;
  }
  return (window.start !== undefined && day < window.start) || (window.end !== undefined && day > window.end);
}

function windowProgress(window: PlanWindow, asOf: string): WindowProgress {
  if (window.start === undefined || window.end === undefined) {
    return { ...window, daysTotal: undefined, daysLeft: window.end === undefined ? undefined : Math.max(0, daysBetween(asOf, window.end)) };
  }
  const daysTotal = daysBetween(window.start, window.end);
  return { ...window, daysTotal, daysLeft: Math.min(daysTotal, Math.max(0, daysBetween(asOf, window.end))) };
}

/** Progress of a plan (`CarePlan/{id}`) on `asOf` (YYYY-MM-DD), from its limits and visits. */
export function planProgress(planReference: string, limits: PlanLimits, visits: readonly Visit[], asOf: string): PlanProgress {
  const perActivity = new Map<number, VisitProgress[]>(limits.activities.map((a) => [a.index, []]));
  const unplanned: VisitProgress[] = [];
  for (const visit of [...visits].filter((v) => v.counts).sort(byDate)) {
    const flags: VisitFlag[] = outsideWindow(limits.window, visit.date) ? ['outside-window'] : [];
    const activity = matchActivity(planReference, limits, visit);
    if (!activity) {
      unplanned.push({ visit, flags: ['unplanned', ...flags] });
      continue;
    }
    const list = perActivity.get(activity.index) as VisitProgress[];
    const rank = list.length + 1;
    if (activity.allowed !== undefined && rank > activity.allowed + activity.onIndication) {
      flags.unshift('over-limit');
    } else if (activity.allowed !== undefined && rank > activity.allowed) {
      flags.unshift('on-indication');
    }
    list.push({ visit, flags });
  }
  return {
    asOf,
    window: windowProgress(limits.window, asOf),
    activities: limits.activities.map((limit) => {
      const list = perActivity.get(limit.index) ?? [];
      return { limit, used: list.length, visits: list };
    }),
    unplanned,
  };
}
