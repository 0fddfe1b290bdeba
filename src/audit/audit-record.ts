/**
 * One request as the audit trail records it, gathered by dispatch (or by the authentication glue
 * for a failed login) and turned into an AuditEvent by audit-event.ts. NEN 7513 asks for: the
 * event (type, action, time, outcome), the user (id, role, responsible user, organisation, client
 * system, network address), the object (patient, resources, query) and the log source.
 */
import type { Principal } from '../auth/principal.js';

export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

export interface AuditRecord {
  /** Interaction code (http.html), `operation`, or `login` for authentication events. */
  readonly event: string;
  readonly action: AuditAction;
  readonly recorded: Date;
  readonly principal: Principal | undefined;
  /** For a failed login: the client the request claimed to be, if any. */
  readonly claimedClient?: string;
  readonly address: string | undefined;
  /** The id the HTTP layer gave the request (Fastify request.id), to tie the record to the logs. */
  readonly requestId?: string;
  readonly resourceType?: string;
  readonly operation?: string;
  /** HTTP status of the answer and, for a failure, the first issue code. */
  status: number;
  failure?: string;
  /** `Type/id[/_history/v]` of every resource read or written. */
  readonly entities: string[];
  /** Ids of the patients those resources belong to. */
  readonly patients: Set<string>;
  /** The query of a search, as the client sent it (after the `?`). */
  query?: string;
}

/** An empty record for one interaction. */
export function auditRecord(init: Omit<AuditRecord, 'status' | 'entities' | 'patients' | 'recorded'> & { recorded?: Date }): AuditRecord {
  return { ...init, recorded: init.recorded ?? new Date(), status: 0, entities: [], patients: new Set() };
}
