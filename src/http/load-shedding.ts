/**
 * Load shedding: when the node is overloaded, new FHIR work answers 503 with Retry-After and an
 * OperationOutcome, so that a busy node degrades its heavy requests instead of its liveness.
 *
 * Registered inside the FHIR scope only: /healthz and /readyz (health.ts) live outside it and are
 * never shed nor queued, so a load balancer does not take a node out because it is merely busy.
 * Two layers, cheapest first:
 * 1. @fastify/under-pressure: event-loop delay, heap, RSS and the database's waiting line
 *    (statements waiting for a connection), each sampled in the background; over a limit every new
 *    request is refused before any work is done (issue type `transient`).
 * 2. The admission gate (admission-gate.ts): a bound on requests doing database work at once and
 *    on those waiting for a turn; beyond it 503 at once (issue type `throttled`).
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import type { OverloadConfig } from '../config/config.js';
import { retryLater } from '../fhir/outcomes.js';
import type { Database } from '../storage/database.js';
import { AdmissionGate } from './admission-gate.js';

const MB = 1024 * 1024;

/** What each under-pressure check stands for, in the outcome's text (no figures: they help no client). */
const PRESSURE_TEXT: Readonly<Record<string, string>> = {
  eventLoopDelay: 'The server is busy',
  heapUsedBytes: 'The server is short of memory',
  rssBytes: 'The server is short of memory',
  healthCheck: 'Too many database statements are waiting',
};

export async function registerLoadShedding(scope: FastifyInstance, options: { overload: OverloadConfig; db: Database }): Promise<AdmissionGate> {
  const { overload, db } = options;
  const queued = (): number => db.queuedStatements?.() ?? 0;
  await scope.register(underPressure, {
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxHeapUsedBytes: overload.maxHeapMb * MB,
    maxRssBytes: overload.maxRssMb * MB,
    // Checked every 100 ms; 0 switches the check off (a healthy line always).
    ...(overload.maxQueuedQueries > 0
      ? { healthCheck: async () => queued() <= overload.maxQueuedQueries, healthCheckInterval: 100 }
      : {}),
    pressureHandler: async (request, _reply, type) => {
      request.log.debug({ pressure: type }, 'request shed under load');
      throw retryLater('transient', `${PRESSURE_TEXT[type] ?? 'The server is busy'}; try again later`, overload.retryAfterSeconds);
    },
  });
  const gate = new AdmissionGate({
    maxActive: overload.maxActiveRequests,
    maxWaiting: overload.maxWaitingRequests,
    maxWaitMs: overload.maxWaitMs,
    retryAfterSeconds: overload.retryAfterSeconds,
  });
  scope.addHook('onRequest', async (_request, reply) => {
    const release = await gate.enter();
    // 'close' comes once the response is sent or the connection is gone, whichever is first; a
    // client that left while waiting for its turn gives the turn straight back, and its request
    // does no work.
    if (reply.raw.closed || reply.raw.destroyed) {
      release();
      throw retryLater('transient', 'The client left before its turn', overload.retryAfterSeconds);
    }
    reply.raw.once('close', release);
  });
  return gate;
}
