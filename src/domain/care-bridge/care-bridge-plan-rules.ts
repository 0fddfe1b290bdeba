/**
 * zb-2 of the care-bridge CarePlan profile: the care bridge ends at most 12 weeks (84 days) after
 * discharge (docs/care-workflows.md, section 2). The profile states it in FHIRPath with date arithmetic, which
 * @medplum/core does not evaluate, so it is marked server-evaluated there and checked here, with
 * the same key, for every CarePlan that claims the profile.
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { unprocessable } from '../../fhir/outcomes.js';
import { constraintIssue } from '../../validation/constraint-keys.js';
import { addDays, dateOnly } from './dates.js';
import { CARE_BRIDGE_DAYS, dischargeDate } from './plan-limits.js';
import { CARE_BRIDGE_PROFILE } from './profiles.js';

const ZB_2 = { key: 'zb-2', human: 'The care bridge ends at most 12 weeks (84 days) after discharge', source: CARE_BRIDGE_PROFILE };

/** Throws 422 (zb-2) when a care-bridge plan's period ends more than 84 days after discharge. */
export function assertCareBridgeWindow(plan: CarePlan): void {
  if (!(plan.meta?.profile ?? []).includes(CARE_BRIDGE_PROFILE)) {
    return;
  }
  const discharge = dischargeDate(plan);
  const end = dateOnly(plan.period?.end);
  if (discharge !== undefined && end !== undefined && end > addDays(discharge, CARE_BRIDGE_DAYS)) {
    throw unprocessable([constraintIssue(ZB_2, 'CarePlan.period.end')]);
  }
}
