/**
 * Reading a Pain Triage (profiles/pain-triage.json) for the IMSR rule (imsr-triage-rule.ts). Before
 * interdisciplinary rehabilitation the rehabilitation physician checks that primary care was tried:
 * which professionals were involved, whether pain education was given, whether treatment aimed at
 * activities and participation (VRA behandelkader Aanhoudende pijn 2025; docs in
 * profiles/codesystem-pain-triage.json). A triage lets a referral to IMSR through when it accepts the
 * patient for IMSR and either all three items are positive or the decision is documented as
 * deviating from the team's advice, with its reason.
 */
import type { Extension, Observation } from '@medplum/fhirtypes';
import { PAIN_TRIAGE_SYSTEM } from '../canonical-urls.js';
import { TRIAGE_DEVIATION_EXTENSION } from './profiles.js';

export const PRIMARY_CARE_ITEMS = ['professionals-involved', 'pain-education', 'activities-participation'] as const;

/** What a triage lacks for IMSR: a primary-care-tried item, an accepting decision, or the triage itself. */
export type TriageGap = (typeof PRIMARY_CARE_ITEMS)[number] | 'decision' | 'triage';

/** The decisions that accept the patient for IMSR (profiles/valueset-triage-decision.json). */
const ACCEPTING = new Set(['imsr-outpatient', 'imsr-clinical']);

/** Statuses of a triage that counts: a preliminary or cancelled one does not. */
const FINAL = new Set<Observation['status']>(['final', 'amended', 'corrected']);

const hasTriageCode = (concept: Observation['code'] | undefined, code: string): boolean =>
  (concept?.coding ?? []).some((c) => c.system === PAIN_TRIAGE_SYSTEM && c.code === code);

/** Whether an Observation is a triage (by its code) in a status that counts. */
export function isFinalTriage(observation: Observation): boolean {
  return hasTriageCode(observation.code, 'triage') && FINAL.has(observation.status);
}

function components(triage: Observation, code: string) {
  return (triage.component ?? []).filter((c) => hasTriageCode(c.code, code));
}

function subExtension(extension: Extension, url: string): Extension | undefined {
  return (extension.extension ?? []).find((e) => e.url === url);
}

/** The decision is documented as deviating from the team's advice, with a reason that is not blank. */
export function deviationDocumented(triage: Observation): boolean {
  return (triage.extension ?? []).some(
    (e) => e.url === TRIAGE_DEVIATION_EXTENSION && subExtension(e, 'deviates')?.valueBoolean === true && (subExtension(e, 'reason')?.valueString ?? '').trim() !== ''
  );
}

/** What keeps this triage from showing that the patient may go to IMSR; empty when nothing does. */
export function triageGaps(triage: Observation): TriageGap[] {
  const gaps: TriageGap[] = [];
  if (!deviationDocumented(triage)) {
    for (const item of PRIMARY_CARE_ITEMS) {
      if (!components(triage, item).some((c) => c.valueBoolean === true)) {
        gaps.push(item);
      }
    }
  }
  const decision = components(triage, 'decision')
    .flatMap((c) => c.valueCodeableConcept?.coding ?? [])
    .some((c) => c.system === PAIN_TRIAGE_SYSTEM && c.code !== undefined && ACCEPTING.has(c.code));
  if (!decision) {
    gaps.push('decision');
  }
  return gaps;
}

/** When the triage took place, for choosing the latest; '' sorts an undated one first. */
export function triageDate(triage: Observation): string {
  return triage.effectiveDateTime ?? triage.issued ?? '';
}
