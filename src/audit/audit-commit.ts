/**
 * The audit records of requests that write nothing (reads, searches, history, operations without
 * affectsState, refusals, failures, failed logins) go to the audit trail through one group commit
 * (group-commit.ts): many requests, one INSERT. The records of writes stay in the write's own
 * transaction (interactions/dispatch.ts), so a write and its record commit or fail together.
 *
 * A request awaits its own record (docs/security.md: no data leaves without its audit record);
 * when the record cannot be written the request answers 503 with Retry-After, without data.
 */
import { isConnectionFault } from '../storage/connection-faults.js';
import type { Queryable } from '../storage/database.js';
import type { AuditRecord } from './audit-record.js';
import { AuditUnavailableError, type AuditTrail } from './audit-trail.js';
import { GroupCommit } from './group-commit.js';


export type AuditCommit = GroupCommit<AuditRecord>;

export interface AuditCommitSettings {
  /** AUDIT_GROUP_COMMIT_MS */
  readonly delayMs: number;
  /** AUDIT_GROUP_COMMIT_MAX_ROWS */
  readonly maxRows: number;
  /** AUDIT_GROUP_COMMIT_FLUSHES */
  readonly maxFlushes: number;
}

/** The group commit of audit records onto `db` (the primary: never a read replica). */
export function createAuditCommit(
  db: Queryable,
  trail: AuditTrail,
  settings: AuditCommitSettings,
  observeBatch?: (records: number) => void
): AuditCommit {
  return new GroupCommit<AuditRecord>({
    flush: (records) => trail.write(db, records),
    delayMs: settings.delayMs,
    maxItems: settings.maxRows,
    maxFlushes: settings.maxFlushes,
    ...(observeBatch ? { onFlush: observeBatch } : {}),
  });
}

/** The error a request answers with when its audit record failed: 503 either way. */
export function auditFailure(error: unknown): unknown {
  return isConnectionFault(error) || error instanceof AuditUnavailableError ? error : new AuditUnavailableError(error);
}

/** Stores `record` with the next group commit; throws a 503 error (auditFailure) when it fails. */
export async function commitAuditRecord(commit: AuditCommit, record: AuditRecord): Promise<void> {
  try {
    await commit.submit(record);
  } catch (error) {
    throw auditFailure(error);
  }
}
