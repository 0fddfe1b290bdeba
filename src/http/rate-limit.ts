/**
 * The rate limit per client system (per address before authentication), so one misbehaving
 * integration cannot starve the others. On PostgreSQL the count is shared by every node
 * (http/rate-limit-store.ts); on PGlite, or with RATE_LIMIT_STORE=memory, each node counts alone.
 *
 * Every answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the
 * window ends), the fields of the IETF httpapi RateLimit header draft; a refusal is 429 with
 * Retry-After (RFC 9110 §10.2.3) and an OperationOutcome of issue type `throttled` (http/errors.ts).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Database } from '../storage/database.js';
import { SharedRateLimitCounter, sharedRateLimitStore } from './rate-limit-store.js';

/** One minute: RATE_LIMIT_PER_MINUTE counts per window of this length. */
const WINDOW_MS = 60_000;

/**
 * Probes and scrapes are not counted: a throttled liveness probe would have a healthy node
 * restarted, and /healthz promises never to touch the database (http/health.ts), which the
 * shared count would.
 */
const UNCOUNTED_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface RateLimitOptions {
  /** RATE_LIMIT_PER_MINUTE */
  readonly perMinute: number;
  /** RATE_LIMIT_STORE: `database` counts in `db`, shared by the nodes; `memory` on this node. */
  readonly store: 'database' | 'memory';
  readonly db: Database;
  /** Counts database faults the shared store met; for /metrics. */
  readonly onStoreFault?: () => void;
  /** Counts refused requests, by whether the key was a client system or an address; for /metrics. */
  readonly onRefused?: (keyKind: 'client' | 'address') => void;
}

/** The key a request counts under: the client system once authenticated, else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`;
}

export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const store = options.store === 'database' ? sharedRateLimitStore(new SharedRateLimitCounter(options.db, { log: app.log, ...(options.onStoreFault ? { onFault: options.onStoreFault } : {}) })) : undefined;
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: WINDOW_MS,
    // After authentication (onRequest), so the key is the client system, not a shared proxy address.
    hook: 'preHandler',
    keyGenerator: rateLimitKey,
    enableDraftSpec: true,
    allowList: (request) => UNCOUNTED_ROUTES.has(request.routeOptions.url ?? ''),
    ...(store ? { store } : {}),
    onExceeded: (_request, key) => options.onRefused?.(key.startsWith('client:') ? 'client' : 'address'),
  });
}
