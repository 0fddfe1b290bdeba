/**
 * The principal a Subscription notifies for (subscription_owner, 016_subscription.sql): the
 * identity of whoever created it, kept so that each notification tells only what that principal
 * may read at the time of the event (auth/access-scope.ts). No token is kept, and emergency
 * access is not: break-the-glass covers one request, not a standing feed.
 */
import type { Principal } from '../auth/principal.js';
import { principalFromRow, type StoredPrincipalRow } from '../auth/stored-principal.js';
import type { Queryable } from '../storage/database.js';


/** Records the creator; the first writer stays the owner (a later update by someone else does not widen it). */
export async function saveOwner(db: Queryable, subscriptionId: string, principal: Principal): Promise<void> {
  await db.query(
    `INSERT INTO subscription_owner (subscription_id, kind, client_id, scopes, organization_ref, practitioner_ref, acting_user)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subscription_id) DO NOTHING`,
    [
      subscriptionId,
      principal.kind,
      principal.clientId,
      principal.scopes.toString(),
      principal.organizationRef ?? null,
      principal.practitionerRef ?? null,
      principal.user === undefined ? null : JSON.stringify(principal.user),
    ]
  );
}

/** The owner as a principal, or undefined for a Subscription written by the server itself (no narrowing but type). */
export async function ownerOf(db: Queryable, subscriptionId: string): Promise<Principal | undefined> {
  const rows = await db.query<StoredPrincipalRow>(
    'SELECT kind, client_id, scopes, organization_ref, practitioner_ref, acting_user FROM subscription_owner WHERE subscription_id = $1',
    [subscriptionId]
  );
  const row = rows[0];
  if (row === undefined) {
    return undefined;
  }
  return principalFromRow(row);
}

/**
 * Whether `caller` is the owner: the same user of the same organisation, or for system tokens the
 * same client. A Subscription without an owner row was written by the server: system callers only.
 */
export function isOwner(caller: Principal | undefined, owner: Principal | undefined): boolean {
  if (caller === undefined) {
    return false;
  }
  if (owner === undefined) {
    return caller.kind === 'system';
  }
  if (owner.user !== undefined || caller.user !== undefined) {
    const a = owner.user?.identifier;
    const b = caller.user?.identifier;
    return a !== undefined && b !== undefined && a.system === b.system && a.value === b.value && owner.organizationRef === caller.organizationRef;
  }
  return caller.clientId === owner.clientId;
}
