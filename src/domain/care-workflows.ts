/**
 * The care workflows (docs/care-workflows.md) as the parts app.ts wires in: write hooks
 * that run inside every write's transaction, and $operations with their OperationDefinitions.
 */
import type { WriteHook } from '../repository/types.js';
import type { SearchService } from '../search/types.js';
import { careBridgeHook } from './care-bridge/care-bridge-hook.js';
import { notificationTaskHook } from './notified-pull/notification-task.js';
import { referralOwnershipHook } from './referral/referral-ownership.js';
import { partyResolver } from './referral/referral-parties.js';
import { referralRulesHook } from './referral/referral-rules.js';
import { referralTaskHook, type ReferralTaskOptions } from './referral/referral-task-hook.js';

export interface CareWorkflowOptions {
  /** The referral Task's actor and guards (authentication supplies the actor). */
  readonly referral?: ReferralTaskOptions;
}

export function careWorkflowHooks(search: SearchService, options: CareWorkflowOptions = {}): WriteHook[] {
  const parties = partyResolver(search);
  const referral = options.referral ?? {};
  return [referralRulesHook(), referralOwnershipHook(referral, parties), referralTaskHook(referral, parties), notificationTaskHook(), careBridgeHook(search)];
}
