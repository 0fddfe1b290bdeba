/**
 * Transport security around every route: security headers (helmet; an API serves no HTML, so the
 * content security policy forbids everything), CORS for an explicit allow-list of origins only,
 * and a rate limit per client system (per address before authentication), so one misbehaving
 * integration cannot starve the others.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface TransportSecurityOptions {
  readonly corsOrigins: readonly string[];
  readonly rateLimitPerMinute: number;
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
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    // After authentication (onRequest), so the key is the client system, not a shared proxy address.
    hook: 'preHandler',
    keyGenerator: (request: FastifyRequest) => (request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`),
  });
}
