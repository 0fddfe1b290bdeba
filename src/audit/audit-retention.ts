/**
 * Upkeep of the audit log's month partitions (storage/migrations/013_audit_log.sql): the partitions
 * of this month and the next exist before their rows arrive, and partitions entirely older than
 * the retention (AUDIT_RETENTION_MONTHS, docs/configuration.md) are dropped whole: no row-by-row
 * delete on an append-only log. One node at a time: a transaction-scoped advisory lock on
 * PostgreSQL (PGlite is one process).
 */
import type { Database } from '../storage/database.js';

/** Arbitrary constant: the advisory lock key of audit log upkeep. */
const MAINTENANCE_LOCK = 7_513_013;
const PARTITION = /^audit_log_p(\d{4})(\d{2})$/;

export interface MaintenanceResult {
  /** False when another node held the lock and this run did nothing. */
  readonly ran: boolean;
  readonly dropped: string[];
}

function monthStart(year: number, month: number): Date {
  return new Date(Date.UTC(year, month, 1));
}

/** Makes partitions ahead and drops those past the retention (0: keep forever). */
export async function maintainAuditLog(db: Database, retentionMonths: number, now: Date = new Date()): Promise<MaintenanceResult> {
  return db.transaction(async (tx) => {
    const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [MAINTENANCE_LOCK]);
    if (lock?.locked !== true) {
      return { ran: false, dropped: [] };
    }
    const thisMonth = monthStart(now.getUTCFullYear(), now.getUTCMonth());
    const nextMonth = monthStart(now.getUTCFullYear(), now.getUTCMonth() + 1);
    for (const month of [thisMonth, nextMonth]) {
      await tx.query('SELECT audit_log_partition($1::date)', [month.toISOString().slice(0, 10)]);
    }
    if (retentionMonths === 0) {
      return { ran: true, dropped: [] };
    }
    // A partition goes when its last instant is older than now minus the retention.
    const cutoff = new Date(now);
    cutoff.setUTCMonth(cutoff.getUTCMonth() - retentionMonths);
    const partitions = await tx.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_log'::regclass`
    );
    const dropped: string[] = [];
    for (const { name } of partitions) {
      const match = PARTITION.exec(name);
      if (!match) {
        continue;
      }
      const end = monthStart(Number(match[1]), Number(match[2]));
      if (end.getTime() <= cutoff.getTime()) {
        // The name comes from the catalogue and matched PARTITION: safe to splice.
        await tx.query(`DROP TABLE ${name}`);
        dropped.push(name);
      }
    }
    return { ran: true, dropped };
  });
}

export interface MaintenanceLog {
  error(object: object, message: string): void;
}

/**
 * Runs maintainAuditLog every `intervalSeconds` (first run soon after start) on an unref'd timer,
 * so it never keeps the process alive; `stop` ends it and waits for a run in progress.
 */
export function scheduleAuditLogMaintenance(
  db: Database,
  options: { retentionMonths: number; intervalSeconds: number },
  log: MaintenanceLog
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout;
  const run = (): void => {
    running = maintainAuditLog(db, options.retentionMonths)
      .catch((error: unknown) => {
        // No patient data in here: partition names and the database error only.
        log.error({ err: error }, 'audit log maintenance failed; it runs again at the next interval');
      })
      .finally(() => {
        if (!stopped) {
          timer = setTimeout(run, options.intervalSeconds * 1000);
          timer.unref();
        }
      });
  };
  timer = setTimeout(run, Math.min(options.intervalSeconds, 10) * 1000);
  timer.unref();
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
