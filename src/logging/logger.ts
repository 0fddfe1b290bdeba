/**
 * pino options: JSON lines with request ids and timings. Resource content never reaches a log
 * line; redaction is the second fence for anything that slips through (headers, tokens, bodies).
 */
import type { LoggerOptions } from 'pino';
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

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: { service: 'schakel' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      level: (label) => ({ level: label }),
    },
  };
}
