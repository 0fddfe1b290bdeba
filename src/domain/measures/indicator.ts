/**
 * What Schakel computes for a Measure group, read from the group's `measure-indicator` extension
 * (canonical-urls.ts). Indicators are data in the Measure (moments, score code, threshold) over a
 * fixed set of indicator types that the server knows how to aggregate (in SQL; care-bridge sessions
 * from the counting of $progress):
 *
 * | type                  | Measure.scoring     | sub-extensions                       | unit of analysis |
 * |-----------------------|---------------------|--------------------------------------|------------------|
 * | `score-change`        | continuous-variable | fromMoment, toMoment, score, scoreImprovement | finished treatment |
 * | `score-improvement`   | proportion          | the same and threshold               | finished treatment |
 * | `moment-completeness` | proportion          | moment (1..*)                        | finished treatment |
 * | `moment-response`     | proportion          | moment (1)                           | moment due in the period |
 * | `referral-primary-care` | proportion        | secondaryCare (Coding, 1..*), onwardDays | referral authored in the period |
 * | `referral-interval`   | continuous-variable | interval (code)                      | referral authored in the period |
 * | `care-bridge-sessions` | ratio              | activity (Coding)                    | care-bridge plan whose window ends in the period |
 *
 * The referral indicators are defined in referral-indicator-sql.ts, the care-bridge one in
 * care-bridge-sessions.ts; `interval` is `referral-to-acceptance` or `acceptance-to-feedback`, and
 * its score is the median number of days.
 *
 * `scoreImprovement` (increase | decrease, the codes of R4 measure-improvement-notation) says which
 * direction of the score is better: `decrease` for the PDI. It is not Measure.improvementNotation,
 * which is about the measure score (a higher share of improved patients is better).
 * Population criteria in the Measure are descriptive (text/plain); the extension is what counts.
 */
import type { Coding, Extension, Measure, MeasureGroup, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import { INDICATOR_EXTENSION } from '../canonical-urls.js';

export type IndicatorType =
  | 'score-change'
  | 'score-improvement'
  | 'moment-completeness'
  | 'moment-response'
  | 'referral-primary-care'
  | 'referral-interval'
  | 'care-bridge-sessions';

export type ReferralInterval = 'referral-to-acceptance' | 'acceptance-to-feedback';
const INTERVALS: readonly string[] = ['referral-to-acceptance', 'acceptance-to-feedback'];

export interface MomentCode {
  readonly system: string;
  readonly code: string;
}

export interface Indicator {
  readonly type: IndicatorType;
  /** Moments in order: [from, to] for score indicators, the listed moments otherwise. */
  readonly moments: readonly MomentCode[];
  readonly score: MomentCode | undefined;
  readonly threshold: number | undefined;
  /** A lower score is better (scoreImprovement `decrease`, the PDI). */
  readonly lowerIsBetter: boolean;
  /** referral-primary-care: the disciplines (RoleCodeNL) that are secondary care, and how many days after the feedback an onward referral still counts. */
  readonly secondaryCare?: readonly MomentCode[];
  readonly onwardDays?: number;
  /** referral-interval: which interval's median. */
  readonly interval?: ReferralInterval;
  /** care-bridge-sessions: the activity code (SNOMED CT) whose sessions are counted. */
  readonly activity?: MomentCode;
}

const SCORING: Record<IndicatorType, string> = {
  'score-change': 'continuous-variable',
  'score-improvement': 'proportion',
  'moment-completeness': 'proportion',
  'moment-response': 'proportion',
  'referral-primary-care': 'proportion',
  'referral-interval': 'continuous-variable',
  'care-bridge-sessions': 'ratio',
};

function codes(extension: Extension, url: string): MomentCode[] {
  return (extension.extension ?? [])
    .filter((e) => e.url === url)
    .map((e) => e.valueCoding)
    .filter((c): c is Coding & MomentCode => typeof c?.system === 'string' && typeof c.code === 'string')
    .map((c) => ({ system: c.system, code: c.code }));
}

function readIndicator(measure: Measure, group: MeasureGroup, path: string, issues: OperationOutcomeIssue[]): Indicator | undefined {
  const fail = (text: string): undefined => {
    issues.push(issue({ code: 'invalid', text, expression: path }));
    return undefined;
  };
  const extension = group.extension?.find((e) => e.url === INDICATOR_EXTENSION);
  const type = extension?.extension?.find((e) => e.url === 'type')?.valueCode as IndicatorType | undefined;
  if (!extension || type === undefined || !(type in SCORING)) {
    return fail(`Schakel evaluates a Measure group through its ${INDICATOR_EXTENSION} extension, with a known type`);
  }
  const scoring = measure.scoring?.coding?.[0]?.code;
  if (scoring !== SCORING[type]) {
    return fail(`A ${type} indicator needs Measure.scoring ${SCORING[type]}, not ${scoring ?? 'none'}`);
  }
  const threshold = extension.extension?.find((e) => e.url === 'threshold')?.valueDecimal;
  const direction = extension.extension?.find((e) => e.url === 'scoreImprovement')?.valueCode;
  const lowerIsBetter = direction !== 'increase';
  if (type === 'score-change' || type === 'score-improvement') {
    const [from] = codes(extension, 'fromMoment');
    const [to] = codes(extension, 'toMoment');
    const [score] = codes(extension, 'score');
    if (!from || !to || !score) {
      return fail(`A ${type} indicator needs fromMoment, toMoment and score Codings`);
    }
    if (direction !== 'increase' && direction !== 'decrease') {
      return fail(`A ${type} indicator needs scoreImprovement: increase or decrease`);
    }
    if (type === 'score-improvement' && (threshold === undefined || threshold < 0)) {
      return fail('A score-improvement indicator needs a threshold (decimal, at least 0)');
    }
    return { type, moments: [from, to], score, threshold, lowerIsBetter };
  }
  const none = { moments: [], score: undefined, threshold: undefined, lowerIsBetter };
  if (type === 'referral-primary-care') {
    const secondaryCare = codes(extension, 'secondaryCare');
    const onwardDays = extension.extension?.find((e) => e.url === 'onwardDays')?.valueInteger;
    if (secondaryCare.length === 0 || onwardDays === undefined || onwardDays < 0) {
      return fail('A referral-primary-care indicator needs secondaryCare Codings and onwardDays (integer, at least 0)');
    }
    return { type, ...none, secondaryCare, onwardDays };
  }
  if (type === 'referral-interval') {
    const interval = extension.extension?.find((e) => e.url === 'interval')?.valueCode;
    if (interval === undefined || !INTERVALS.includes(interval)) {
      return fail(`A referral-interval indicator needs interval: ${INTERVALS.join(' or ')}`);
    }
    return { type, ...none, interval: interval as ReferralInterval };
  }
  if (type === 'care-bridge-sessions') {
    const [activity] = codes(extension, 'activity');
    if (!activity) {
      return fail('A care-bridge-sessions indicator needs an activity Coding');
    }
    return { type, ...none, activity };
  }
  const moments = codes(extension, 'moment');
  if (moments.length === 0 || (type === 'moment-response' && moments.length !== 1)) {
    return fail(`A ${type} indicator needs ${type === 'moment-response' ? 'exactly one moment' : 'at least one moment'} Coding`);
  }
  return { type, moments, score: undefined, threshold: undefined, lowerIsBetter };
}

/** The indicator of every group of a Measure; 422 with the group's path when one is not understood. */
export function measureIndicators(measure: Measure): Indicator[] {
  const issues: OperationOutcomeIssue[] = [];
  const groups = measure.group ?? [];
  const indicators = groups.map((group, i) => readIndicator(measure, group, `Measure.group[${i}]`, issues));
  if (issues.length > 0 || groups.length === 0) {
    throw unprocessable(issues.length > 0 ? issues : [issue({ code: 'invalid', text: 'The Measure has no groups', expression: 'Measure.group' })]);
  }
  return indicators as Indicator[];
}
