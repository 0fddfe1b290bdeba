/**
 * Faults where the database is there but cannot take the work now: it is out of disk, memory or
 * connections, or it refuses writes. Unlike an error of the statement (500) these pass; the
 * client should try again later (http/errors.ts: 507 or 503 with Retry-After).
 *
 * SQLSTATEs of PostgreSQL's Appendix A (Error Codes): class 53 insufficient_resources (53100
 * disk_full, 53200 out_of_memory, 53300 too_many_connections) and 25006
 * read_only_sql_transaction (a standby, a demoted primary, `default_transaction_read_only`).
 * PGlite reports a full disk with 53100 as well ("could not extend file"); on PGlite the
 * DiskSpaceGuard (disk-space.ts) refuses writes with the same code before the disk is that full.
 */

export type CapacityReason = 'disk full' | 'out of memory' | 'too many connections' | 'database is read-only';

const REASONS: Record<string, CapacityReason> = {
  '53100': 'disk full',
  '53200': 'out of memory',
  '53300': 'too many connections',
  '25006': 'database is read-only',
};

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The capacity fault `error` (or the error it wraps) stands for, if it is one. */
export function capacityFault(error: unknown): CapacityReason | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 3; depth++) {
    const reason = REASONS[codeOf(e) ?? ''];
    if (reason) {
      return reason;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

/** A write refused because too little disk space is left for the database (SQLSTATE 53100). */
export class InsufficientStorageError extends Error {
  override name = 'InsufficientStorageError';
  readonly code = '53100';

  constructor(
    readonly freeBytes: number,
    readonly marginBytes: number
  ) {
    super(`disk full: ${Math.floor(freeBytes / 1048576)} MB free, writes need ${Math.floor(marginBytes / 1048576)} MB`);
  }
}
