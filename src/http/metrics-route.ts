/**
 * GET /metrics: the Prometheus text exposition (metrics/service-metrics.ts), outside the FHIR base
 * like /healthz, and the onResponse hook that counts every request into it.
 *
 * Access: with METRICS_TOKEN set, only `Authorization: Bearer <token>` (RFC 6750 §2.1) is let in;
 * without it the endpoint is open in development and absent (404) in production, so an operator
 * never publishes the node's internals by leaving a setting out.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { invalidToken } from '../auth/oauth-errors.js';
import { notFound } from '../fhir/outcomes.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';

export interface MetricsRouteOptions {
  readonly metrics: ServiceMetrics;
  /** METRICS_TOKEN */
  readonly token: string | undefined;
  readonly mode: 'development' | 'production';
}

/** Compares in constant time, so response timing does not reveal how much of the token matched. */
function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerMetrics(app: FastifyInstance, options: MetricsRouteOptions): void {
  const { metrics, token } = options;
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest({
      interaction: request.fhirInteraction?.code,
      resourceType: request.fhirInteraction?.resourceType,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });
  app.get('/metrics', async (request, reply) => {
    if (token === undefined && options.mode === 'production') {
      throw notFound('Unknown path');
    }
    if (token !== undefined) {
      const header = request.headers.authorization;
      const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
      if (presented === undefined || !sameToken(presented, token)) {
        reply.header('www-authenticate', header === undefined ? 'Bearer realm="metrics"' : 'Bearer realm="metrics", error="invalid_token"');
        throw invalidToken(header !== undefined, 'A valid metrics token is required');
      }
    }
    const scrape = await metrics.scrape();
    return reply.header('content-type', scrape.contentType).header('cache-control', 'no-store').send(scrape.body);
  });
}
