/**
 * A principal kept in a table for work done later on its behalf (a Subscription's notifications,
 * subscriptions/subscription-owner.ts; a Bulk Data export, bulk-export/export-jobs.ts): the columns
 * it is stored in, and the principal read back from them. No token and no emergency access is kept:
 * break-the-glass covers one request, not work that runs later.
 */
import type { ActingUser, Principal } from './principal.js';
import { ScopeSet } from './scopes.js';

/** The stored columns, as the driver returns them (JSON as text on PGlite, parsed on PostgreSQL). */
export interface StoredPrincipalRow {
  kind: 'user' | 'system';
  client_id: string;
  scopes: string;
  organization_ref: string | null;
  practitioner_ref: string | null;
  acting_user: ActingUser | string | null;
}

export function principalFromRow(row: StoredPrincipalRow): Principal {
  const user = typeof row.acting_user === 'string' ? (JSON.parse(row.acting_user) as ActingUser) : row.acting_user;
  return {
    kind: row.kind,
    clientId: row.client_id,
    scopes: ScopeSet.parse(row.scopes),
    ...(user !== null ? { user } : {}),
    ...(row.organization_ref !== null ? { organizationRef: row.organization_ref } : {}),
    ...(row.practitioner_ref !== null ? { practitionerRef: row.practitioner_ref } : {}),
  };
}
