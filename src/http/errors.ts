/**
 * The one place where failures become HTTP: every error leaves as an OperationOutcome.
 * Fastify's own errors (415, 413, malformed requests) are translated; a lost or unreachable
 * database (storage/connection-faults.ts) is a 503 with Retry-After, issue type `transient`;
 * anything unexpected is a 500 that is logged with its stack and answered without internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { AuditUnavailableError } from '../audit/audit-trail.js';
import { capacityFault, type CapacityReason } from '../storage/capacity-faults.js';
import { DatabaseUnavailableError, isConnectionFault } from '../storage/connection-faults.js';
import { isOperationOutcomeError, issue, outcome, RetryLaterError, statusOf, type OutcomeKind } from '../fhir/outcomes.js';
import { DEFAULT_FORMAT, sendOutcome, type ReplyFormat } from './reply.js';
import type { FaultLogLimiter } from '../logging/fault-log-limiter.js';

/**
 * SQLSTATE program_limit_exceeded: PostgreSQL refuses a btree index entry over about 2.7 KB. Strings
 * are indexed by a bounded prefix (search/text.ts); a code, identifier or URI that long is refused.
 */
const PROGRAM_LIMIT_EXCEEDED = '54000';

/**
 * SQLSTATE query_canceled: a statement ran past its statement_timeout. Searches turn it into their
 * own outcome (interactions/search.ts); any other statement that meets it is still no server fault.
 */
const QUERY_CANCELED = '57014';

/** Fastify error codes with the outcome they stand for. */
const FASTIFY_ERRORS: Record<string, { kind: OutcomeKind; code: 'not-supported' | 'too-costly' | 'invalid' | 'structure'; text?: string }> = {
  // A path that is not percent-encoded UTF-8 (`%ff`, an encoded lone surrogate); the router's own
  // message repeats the URL, which may hold a BSN, so a fixed text answers instead.
  FST_ERR_BAD_URL: { kind: 'bad-request', code: 'invalid', text: 'The request path is not valid percent-encoded UTF-8' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'unsupported-media-type', code: 'not-supported' },
  FST_ERR_CTP_INVALID_TYPE: { kind: 'unsupported-media-type', code: 'not-supported' },
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'payload-too-large', code: 'too-costly' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'bad-request', code: 'invalid' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'bad-request', code: 'structure' },
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'bad-request', code: 'structure' },
};

const KIND_BY_STATUS: Record<number, OutcomeKind> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'too-many-requests',
};

/**
 * Seconds a client should wait after a 503 for a database fault (RFC 9110 section 10.2.3): about
 * a restart of PostgreSQL; the pool reconnects by itself as soon as the server is back.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Space is freed by a person or a cleanup job, not by a reconnect: a minute is a fair first wait. */
export const DISK_FULL_RETRY_AFTER_SECONDS = 60;

declare module 'fastify' {
  interface FastifyRequest {
    /** Response format chosen for this request; errors use it too. */
    fhirFormat?: ReplyFormat;
  }
}

export interface MappedError {
  status: number;
  outcome: OperationOutcome;
  unexpected: boolean;
  /** Seconds for a Retry-After header (503 of a database fault). */
  retryAfter?: number;
}

function databaseFault(error: unknown): MappedError {
  const unknownCommit = error instanceof DatabaseUnavailableError && error.committed === 'unknown';
  // The text tells a client whose write may have landed to look before sending it again.
  const text = unknownCommit
    ? 'The database connection was lost while the change was being committed; it may or may not have been stored. Check whether it was before sending it again.'
    : 'The database is temporarily unavailable; nothing was changed. Try again later.';
  const result = outcome('unavailable', [issue({ code: 'transient', text })]);
  return { status: 503, outcome: result, unexpected: false, retryAfter: DATABASE_RETRY_AFTER_SECONDS };
}

/**
 * The database is there but cannot take the work now (storage/capacity-faults.ts). A full disk is
 * 507 Insufficient Storage (RFC 4918 section 11.5: the server cannot store what the request needs,
 * a condition it calls temporary), with issue type `no-store`; a read-only database likewise
 * cannot store, but is a failover or maintenance, so 503; memory and connections are 503
 * `transient`. Each with Retry-After: none of them is the client's fault or permanent.
 */
function capacityOutcome(reason: CapacityReason): MappedError {
  switch (reason) {
    case 'disk full':
      return {
        status: 507,
        outcome: outcome('insufficient-storage', [issue({ code: 'no-store', text: 'The server has too little storage space left to store this change; nothing was changed. Try again later.' })]),
        unexpected: false,
        retryAfter: DISK_FULL_RETRY_AFTER_SECONDS,
      };
    case 'database is read-only':
      return {
        status: 503,
        outcome: outcome('unavailable', [issue({ code: 'no-store', text: 'The database accepts no changes at the moment; nothing was changed. Try again later.' })]),
        unexpected: false,
        retryAfter: DATABASE_RETRY_AFTER_SECONDS,
      };
    case 'out of memory':
    case 'too many connections':
      return {
        status: 503,
        outcome: outcome('unavailable', [issue({ code: 'transient', text: 'The database is out of resources at the moment. Try again later.' })]),
        unexpected: false,
        retryAfter: DATABASE_RETRY_AFTER_SECONDS,
      };
  }
}

export function toOutcome(error: unknown): MappedError {
  if (isConnectionFault(error)) {
    return databaseFault(error);
  }
  const capacity = capacityFault(error);
  if (capacity) {
    return capacityOutcome(capacity);
  }
  if (error instanceof RetryLaterError) {
    return { status: 503, outcome: error.outcome, unexpected: false, retryAfter: error.retryAfterSeconds };
  }
  if (isOperationOutcomeError(error)) {
    return { status: statusOf(error.outcome), outcome: error.outcome, unexpected: false };
  }
  if ((error as { code?: unknown }).code === QUERY_CANCELED) {
    const result = outcome('unavailable', [issue({ code: 'too-costly', text: 'The request took longer than the server allows; narrow it or try again later' })]);
    return { status: 503, outcome: result, unexpected: false, retryAfter: DATABASE_RETRY_AFTER_SECONDS };
  }
  const fastifyError = error as Partial<FastifyError>;
  const known = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (known) {
    const text =
      known.kind === 'unsupported-media-type'
        ? 'Unsupported media type: send application/fhir+json or application/fhir+xml (application/json-patch+json for PATCH)'
        : (known.text ?? fastifyError.message ?? 'Bad request');
    const result = outcome(known.kind, [issue({ code: known.code, text })]);
    return { status: statusOf(result), outcome: result, unexpected: false };
  }
  if ((error as { code?: unknown }).code === PROGRAM_LIMIT_EXCEEDED) {
    const result = outcome('unprocessable', [
      issue({ code: 'too-long', text: 'A value is too long for the search index (codes, identifiers and URIs are indexed whole)' }),
    ]);
    return { status: 422, outcome: result, unexpected: false };
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const kind = KIND_BY_STATUS[status] ?? 'bad-request';
    // The rate limit is a throttle, not a fault of the request (issue type `throttled`).
    const result = outcome(kind, [issue({ code: status === 429 ? 'throttled' : 'invalid', text: fastifyError.message ?? 'Bad request' })]);
    return { status, outcome: result, unexpected: false };
  }
  const result = outcome('server-error', [issue({ code: 'exception', text: 'Internal server error' })]);
  return { status: 500, outcome: result, unexpected: true };
}

/**
 * The error handler of the app. Database faults are logged through `faults`: the first of each
 * kind in full, with the request id; the rest as a count (logging/fault-log-limiter.ts).
 */
export function createErrorHandler(faults: FaultLogLimiter) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => handleError(faults, error, request, reply);
}

function handleError(faults: FaultLogLimiter, error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, outcome: body, unexpected, retryAfter } = toOutcome(error);
  if (retryAfter !== undefined) {
    const databaseFault = capacityFault(error) ?? (isConnectionFault(error) ? (error instanceof DatabaseUnavailableError ? error.reason : 'connection lost') : undefined);
    if (databaseFault !== undefined && faults.admit(databaseFault)) {
      request.log.warn({ reason: databaseFault }, 'database unavailable');
    }
    reply.header('retry-after', String(retryAfter));
  }
  if (error instanceof AuditUnavailableError) {
    // A 503 that is no database fault above: the audit trail refused the record. The cause goes
    // through the error serializer (logging/logger.ts), which keeps a database error's data out.
    request.log.error({ err: error.cause }, 'audit record not stored');
  }
  if (unexpected) {
    request.log.error({ err: error }, 'unhandled error');
    const first = body.issue?.[0];
    if (first) {
      first.diagnostics = `request id ${request.id}`;
    }
  }
  return sendOutcome(reply, status, body, request.fhirFormat ?? DEFAULT_FORMAT);
}
