/**
 * Graceful shutdown of the HTTP side (app.close(), called by server.ts on SIGTERM/SIGINT):
 *
 * 1. the listening socket closes at once: new connections are refused;
 * 2. every request already received runs to its end, and its response carries
 *    `Connection: close` so the client does not send another one on that connection;
 * 3. a request that still arrives on an open keep-alive connection is answered 503 with
 *    Retry-After and a `transient` OperationOutcome (RFC 9110 section 15.6.4), not Fastify's own body;
 * 4. only when no request has been in flight for a short quiet spell are idle keep-alive
 *    connections closed and the onClose hooks (the database) run.
 *
 * Why not Fastify's own drain: `server.close()` closes idle keep-alive connections at once
 * (Node's httpServerPreClose). A connection is "idle" to Node until it has parsed a request, so a
 * request already sent by the client but not yet read (the event loop busy with an embedded PGlite
 * statement) lost its connection to a reset. Waiting for the in-flight count to reach zero, and
 * then a quiet spell in which the loop reads whatever is buffered, closes the window to the
 * ordinary keep-alive race of RFC 9112 section 9.6.
 */
import type { FastifyInstance } from 'fastify';
import { Server as NetServer } from 'node:net';
import { issue, outcome } from '../fhir/outcomes.js';
import { DEFAULT_FORMAT, sendOutcome } from './reply.js';

/** Seconds a client should wait before trying a request refused during shutdown (a restart). */
export const SHUTDOWN_RETRY_AFTER_SECONDS = 5;

/** No request in flight for this long: the buffered ones have been read; idle connections may close. */
const QUIET_MS = 100;

export interface DrainOptions {
  /** Upper bound of the wait for in-flight requests (server.ts exits 1 after this anyway). */
  readonly graceMs: number;
}

/** Registers the drain on `app`: counts requests in flight and runs the steps above in preClose. */
export function registerDrain(app: FastifyInstance, options: DrainOptions): void {
  let draining = false;
  let inFlight = 0;
  let lastActivity = Date.now();
  let wake: (() => void) | undefined;

  app.server.on('request', (_req, res) => {
    inFlight += 1;
    lastActivity = Date.now();
    res.once('close', () => {
      inFlight -= 1;
      lastActivity = Date.now();
      if (inFlight === 0) {
        wake?.();
      }
    });
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!draining) {
      return;
    }
    reply.header('connection', 'close');
    reply.header('retry-after', String(SHUTDOWN_RETRY_AFTER_SECONDS));
    const body = outcome('unavailable', [issue({ code: 'transient', text: 'The server is shutting down; send the request again shortly.' })]);
    return sendOutcome(reply, 503, body, request.fhirFormat ?? DEFAULT_FORMAT);
  });

  // A response finished after the signal ends its connection; the client opens a new one elsewhere.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) {
      reply.header('connection', 'close');
    }
    return payload;
  });

  app.addHook('preClose', async () => {
    draining = true;
    if (app.server.listening) {
      // net.Server's close stops accepting without http.Server's closing of idle connections (above).
      NetServer.prototype.close.call(app.server);
    }
    const deadline = Date.now() + options.graceMs;
    while (Date.now() < deadline) {
      if (inFlight === 0 && Date.now() - lastActivity >= QUIET_MS) {
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, inFlight === 0 ? QUIET_MS : 1000).unref();
      });
      wake = undefined;
    }
    if (inFlight > 0) {
      app.log.warn({ inFlight }, 'shutdown grace period over with requests in flight');
    }
  });
}
