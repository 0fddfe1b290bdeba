/**
 * Database faults as ordinary events: which errors mean "the connection to PostgreSQL is lost or
 * cannot be made", as opposed to an error of the statement itself. Such a fault is transient for
 * the caller (HTTP 503 with Retry-After, http/errors.ts); the statement may be tried again once
 * the server is back.
 *
 * The SQLSTATEs are those of PostgreSQL's Appendix A (Error Codes): class 08 (connection
 * exception), 57P01 admin_shutdown (`pg_ctl stop -m fast`, pg_terminate_backend), 57P02
 * crash_shutdown (a sibling backend crashed, or `-m immediate`), 57P03 cannot_connect_now (the
 * server is starting up or shutting down). node-postgres reports a socket that closes without a
 * protocol message as a plain Error without code ("Connection terminated unexpectedly").
 */

const SQLSTATES = new Set(['57P01', '57P02', '57P03']);

/** Node socket errors of a server that is down, restarting or unreachable. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** Messages node-postgres and pg-pool use for a lost or never-made connection (they carry no code). */
const MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable$/,
  /^Query read timeout$/,
];

function codeOf(error: object): string | undefined {
  return 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** True when `error` says the connection failed, not the statement. */
export function isConnectionFault(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) {
    return true;
  }
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const code = codeOf(error);
  if (code !== undefined && (SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || SOCKET_CODES.has(code))) {
    return true;
  }
  // ECONNREFUSED on a host name with both an IPv4 and IPv6 address arrives as an AggregateError.
  if (error instanceof AggregateError && error.errors.some((e) => isConnectionFault(e))) {
    return true;
  }
  const message = error instanceof Error ? error.message : undefined;
  return message !== undefined && MESSAGES.some((m) => m.test(message));
}

/** A short reason for logs and /readyz; never the connection string or server internals. */
export function faultReason(error: unknown): string {
  const cause = error instanceof DatabaseUnavailableError ? error.cause : error;
  const code = typeof cause === 'object' && cause !== null ? codeOf(cause) : undefined;
  const message = cause instanceof Error ? cause.message : '';
  switch (code) {
    case '57P01':
      return 'database is shutting down';
    case '57P02':
      return 'database crashed';
    case '57P03':
      return /shutting down/.test(message) ? 'database is shutting down' : 'database is starting up';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'database host not found';
    default:
      break;
  }
  if (/timeout/i.test(message) || code === 'ETIMEDOUT') {
    return 'connection timed out';
  }
  if (cause instanceof AggregateError) {
    return faultReason(cause.errors[0]);
  }
  return 'connection lost';
}

/**
 * Whether a write reached the database. `no`: the fault came before COMMIT was sent (or the
 * statement never left), so nothing was stored. `unknown`: COMMIT (or an autocommit write) was
 * sent and its answer lost; the change may or may not be stored, so it must never be retried
 * blindly.
 */
export type Committed = 'no' | 'unknown';

/** The database could not be reached or the connection broke; the request may be tried again later. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  /** Short reason (faultReason), safe to log and to show. */
  readonly reason: string;

  constructor(
    cause: unknown,
    readonly committed: Committed,
    message?: string
  ) {
    const reason = faultReason(cause);
    super(message ?? `database unavailable: ${reason}`, { cause });
    this.reason = reason;
  }

  /** A connect timeout: trying again at once would only make the caller wait twice as long. */
  get timedOut(): boolean {
    return this.reason === 'connection timed out';
  }
}
