/**
 * Transport security around every route: security headers (helmet; an API serves no HTML, so the
 * content security policy forbids everything), CORS for an explicit allow-list of origins only,
 * and the rate limit (http/rate-limit.ts).
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { registerRateLimit, type RateLimitOptions } from './rate-limit.js';

export interface TransportSecurityOptions {
  readonly corsOrigins: readonly string[];
  readonly rateLimit: RateLimitOptions;
}

export async function registerTransportSecurity(app: FastifyInstance, options: TransportSecurityOptions): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-site' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(cors, {
    origin: options.corsOrigins.length === 0 ? false : [...options.corsOrigins],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'If-None-Exist', 'If-Modified-Since', 'Prefer', 'X-Request-Id', 'X-Security-Context'],
    exposedHeaders: ['Location', 'ETag', 'Last-Modified', 'X-Request-Id', 'Content-Disposition'],
  });
  await registerRateLimit(app, options.rateLimit);
}
