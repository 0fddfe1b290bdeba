/**
 * Who sees a Subscription: a user only their own (subscription_owner, 016_subscription.sql).
 * A Subscription belongs to no patient, so the patient narrowing would show it to every user,
 * with its channel.header (often the receiver's credentials) and the criteria that tell whom
 * its owner follows. System clients keep seeing every resource of the types they may read.
 */
import type { Principal } from './principal.js';

/** The SQL condition for the row at `alias`; undefined when the principal is not narrowed by it. */
export function subscriptionOwned(alias: string, principal: Principal, bind: (value: unknown) => string): string | undefined {
  const user = principal.user;
  if (principal.kind !== 'user' || user === undefined) {
    return undefined;
  }
  return `(${alias}.resource_type <> 'Subscription' OR EXISTS (SELECT 1 FROM subscription_owner o WHERE o.subscription_id = ${alias}.id
            AND o.kind = 'user' AND o.acting_user->'identifier'->>'system' = ${bind(user.identifier.system)}::text
            AND o.acting_user->'identifier'->>'value' = ${bind(user.identifier.value)}::text
            AND o.organization_ref IS NOT DISTINCT FROM ${bind(principal.organizationRef ?? null)}::text))`;
}
