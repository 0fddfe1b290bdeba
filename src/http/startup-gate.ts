/**
 * The HTTP server of a starting process, bound before the slow work (migrations, definitions,
 * seeding, the app build: tens of seconds on a fresh database), so that
 *
 * - a port already in use is found within a second, not after the whole start;
 * - `/healthz` answers 200 at once (the process lives; `status` says it is still starting),
 *   so an orchestrator does not kill a node that is busy migrating;
 * - `/readyz` and every other path answer 503 with Retry-After and a `transient`
 *   OperationOutcome (RFC 9110 section 15.6.4) until the app is ready: a load balancer sends
 *   nothing here yet, and a client is told to come back instead of being refused a connection.
 *
 * The app then takes over the same server (Fastify's serverFactory): no moment without a
 * listening socket, no second bind that another process could race for.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import { issue, outcome } from '../fhir/outcomes.js';

/** Seconds a client should wait before asking a starting server again. */
export const STARTUP_RETRY_AFTER_SECONDS = 5;

/** Fastify's defaults for its own servers (fastify.js), kept for the server made here. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface ListenOptions {
  readonly port: number;
  readonly host: string;
  readonly backlog: number;
}

export class StartupGate {
  readonly server: Server;
  /** What the start is doing now, reported by /healthz and /readyz. */
  phase = 'starting';
  private app: RequestListener | undefined;
  private pending: RequestListener | undefined;

  constructor() {
    this.server = createServer((request, response) => {
      if (this.app !== undefined) {
        this.app(request, response);
      } else {
        this.answerStarting(request, response);
      }
    });
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.server.requestTimeout = 0;
  }

  /** Binds the port; rejects with the listen error (EADDRINUSE, EACCES) at once. */
  listen(options: ListenOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      this.server.once('error', failed);
      this.server.listen({ port: options.port, host: options.host, backlog: options.backlog }, () => {
        this.server.off('error', failed);
        resolve();
      });
    });
  }

  /** For buildApp: Fastify answers on this server, but only from `open()` on. */
  readonly serverFactory: FastifyServerFactory = (handler) => {
    this.pending = handler;
    return this.server;
  };

  /** The app is ready (after buildApp): every request from now on goes to it. */
  open(): void {
    if (this.pending === undefined) {
      throw new Error('the app was not built on this server (serverFactory)');
    }
    this.app = this.pending;
  }

  private answerStarting(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      send(response, 200, 'application/json; charset=utf-8', { status: 'starting', phase: this.phase });
      return;
    }
    const body = outcome('unavailable', [
      issue({ code: 'transient', text: 'The server is starting; send the request again shortly.', diagnostics: `start-up phase: ${this.phase}` }),
    ]);
    response.setHeader('retry-after', String(STARTUP_RETRY_AFTER_SECONDS));
    // A request body is not read: the connection closes after the answer instead of being reused.
    response.setHeader('connection', 'close');
    send(response, 503, 'application/fhir+json; charset=utf-8', body);
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}
