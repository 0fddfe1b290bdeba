/**
 * pino options: JSON lines with request ids and timings. Resource content never reaches a log
 * line; redaction is the second fence for anything that slips through (headers, tokens, bodies).
 */
import { stdSerializers, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config/config.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'access_token',
  'client_assertion',
  'body',
  'resource',
  'req.body',
  'res.body',
  '*.body',
  '*.resource',
  '*.password',
  '*.secret',
  '*.privateKey',
];

/** Fields of a database error that name the failure without holding data. */
const DATABASE_ERROR_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint'] as const;

function isDatabaseError(error: Record<string, unknown>): boolean {
  // A SQLSTATE is five characters (https://www.postgresql.org/docs/current/errcodes-appendix.html).
  return typeof error['code'] === 'string' && /^[0-9A-Z]{5}$/.test(error['code']) && ('severity' in error || 'routine' in error);
}

/**
 * Errors as log objects. A database error is logged by SQLSTATE and the names of what failed:
 * its message, detail and hint can quote the row ("Failing row contains ..."), and the drivers
 * attach the statement and its parameters (PGlite's `query` and `params`), which hold resource
 * content.
 */
export function serializeError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) {
    return error;
  }
  const fields = error as Record<string, unknown>;
  if (isDatabaseError(fields)) {
    const safe: Record<string, unknown> = { type: 'DatabaseError' };
    for (const key of DATABASE_ERROR_FIELDS) {
      if (typeof fields[key] === 'string') {
        safe[key] = fields[key];
      }
    }
    return safe;
  }
  return stdSerializers.err(error as Error);
}

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: { service: 'schakel' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    formatters: {
      level: (label) => ({ level: label }),
    },
  };
}
