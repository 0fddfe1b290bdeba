/**
 * The rate limit per client system (per address before authentication), so one misbehaving
 * integration cannot starve the others.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RateLimitOptions {
  /** RATE_LIMIT_PER_MINUTE */
  readonly perMinute: number;
}

/** The key a request counts under: the client system once authenticated, else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`;
}

export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    // After authentication (onRequest), so the key is the client system, not a shared proxy address.
    hook: 'preHandler',
    keyGenerator: rateLimitKey,
  });
}
