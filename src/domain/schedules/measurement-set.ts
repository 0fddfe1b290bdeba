/**
 * A measurement set (such as the NDP) as a PlanDefinition: its moments and instruments are data,
 * so operators add an instrument or a moment by editing the PlanDefinition, not the code.
 *
 * - One action, coded `treatment` (pain-outcomes code system), stands for the treatment: at
 *   $apply its start and end are the CarePlan's period.
 * - Every other top-level action is a measurement moment: its `code` names the moment (it becomes
 *   Task.code), one relatedAction places it relative to the treatment (R4
 *   PlanDefinition.action.relatedAction: `concurrent-with-start`, `after-start`, `before-start`,
 *   and the same for `-end`, with an optional offsetDuration; the `offset-fraction` extension
 *   places it a fraction of the treatment after its start, 0.5 being halfway), and the
 *   `measurement-window` extension gives the half-width of its due window (±14 days...).
 * - A moment's sub-actions are its instruments: each a definitionCanonical to a Questionnaire.
 */
import type { Coding, OperationOutcomeIssue, PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import { OFFSET_FRACTION_EXTENSION, PAIN_OUTCOMES_SYSTEM, WINDOW_EXTENSION } from '../canonical-urls.js';
import { calendarDuration, type CalendarDuration } from './calendar.js';

export interface Instrument {
  /** Questionnaire canonical (url|version). */
  readonly canonical: string;
  readonly title: string | undefined;
  /** Where it is in the PlanDefinition, for errors. */
  readonly path: string;
}

export interface MeasurementMoment {
  readonly code: Coding;
  readonly title: string;
  readonly anchor: 'start' | 'end';
  /** Fraction of the treatment's length after its start (anchor `start` only). */
  readonly fraction: number;
  readonly offset: CalendarDuration | undefined;
  readonly sign: 1 | -1;
  readonly halfWidth: CalendarDuration;
  readonly instruments: readonly Instrument[];
}

const RELATIONSHIPS: Record<string, { anchor: 'start' | 'end'; sign: 1 | -1 }> = {
  'concurrent-with-start': { anchor: 'start', sign: 1 },
  'after-start': { anchor: 'start', sign: 1 },
  'before-start': { anchor: 'start', sign: -1 },
  'concurrent-with-end': { anchor: 'end', sign: 1 },
  'after-end': { anchor: 'end', sign: 1 },
  'before-end': { anchor: 'end', sign: -1 },
};

function isTreatment(action: PlanDefinitionAction): boolean {
  return (action.code ?? []).some((c) => (c.coding ?? []).some((x) => x.system === PAIN_OUTCOMES_SYSTEM && x.code === 'treatment'));
}

function readMoment(action: PlanDefinitionAction, path: string, treatmentId: string, issues: OperationOutcomeIssue[]): MeasurementMoment | undefined {
  const fail = (text: string, at = path, code: OperationOutcomeIssue['code'] = 'invalid'): undefined => {
    issues.push(issue({ code, text, expression: at }));
    return undefined;
  };
  const code = action.code?.[0]?.coding?.[0];
  if (!code?.code) {
    return fail('A measurement moment needs a code');
  }
  if (action.condition?.length) {
    return fail('Applicability conditions are not supported', `${path}.condition[0]`, 'not-supported');
  }
  const related = action.relatedAction ?? [];
  const relation = related[0];
  if (related.length !== 1 || relation?.actionId !== treatmentId) {
    return fail(`A measurement moment needs exactly one relatedAction, to the treatment action "${treatmentId}"`, `${path}.relatedAction`);
  }
  const kind = RELATIONSHIPS[relation.relationship];
  if (!kind) {
    return fail(`relationship ${relation.relationship} is not supported for measurement moments`, `${path}.relatedAction[0].relationship`, 'not-supported');
  }
  const offset = relation.offsetDuration ? calendarDuration(relation.offsetDuration) : undefined;
  if ((relation.offsetDuration && !offset) || relation.offsetRange) {
    return fail('The offset must be an offsetDuration in whole d, wk, mo or a', `${path}.relatedAction[0]`);
  }
  const fraction = relation.extension?.find((e) => e.url === OFFSET_FRACTION_EXTENSION)?.valueDecimal ?? 0;
  if (fraction < 0 || fraction > 1 || (fraction !== 0 && kind.anchor !== 'start')) {
    return fail('offset-fraction must lie in 0..1 and goes with a relationship to the start', `${path}.relatedAction[0]`);
  }
  const halfWidth = calendarDuration(action.extension?.find((e) => e.url === WINDOW_EXTENSION)?.valueDuration);
  if (!halfWidth) {
    return fail('A measurement moment needs a measurement-window extension (Duration in d, wk, mo or a)');
  }
  const instruments: Instrument[] = [];
  (action.action ?? []).forEach((sub, j) => {
    if (!sub.definitionCanonical) {
      fail('An instrument is an action with a definitionCanonical to a Questionnaire', `${path}.action[${j}]`);
      return;
    }
    instruments.push({ canonical: sub.definitionCanonical, title: sub.title, path: `${path}.action[${j}].definitionCanonical` });
  });
  if (instruments.length === 0) {
    return fail('A measurement moment needs at least one instrument (sub-action)');
  }
  return { code, title: action.title ?? code.display ?? code.code, anchor: kind.anchor, fraction, offset, sign: kind.sign, halfWidth, instruments };
}

/** The moments of a measurement set; 422 with the action's path when the PlanDefinition is not one. */
export function measurementMoments(plan: PlanDefinition): MeasurementMoment[] {
  const actions = plan.action ?? [];
  const treatment = actions.find(isTreatment);
  if (!treatment?.id) {
    throw unprocessable([
      issue({ code: 'invalid', text: 'A measurement set needs an action with an id, coded treatment, that stands for the treatment', expression: 'PlanDefinition.action' }),
    ]);
  }
  const issues: OperationOutcomeIssue[] = [];
  const moments = actions.flatMap((action, i) =>
    action === treatment ? [] : (readMoment(action, `PlanDefinition.action[${i}]`, treatment.id as string, issues) ?? [])
  );
  if (issues.length > 0 || moments.length === 0) {
    throw unprocessable(issues.length > 0 ? issues : [issue({ code: 'invalid', text: 'The measurement set has no moments', expression: 'PlanDefinition.action' })]);
  }
  return moments;
}
