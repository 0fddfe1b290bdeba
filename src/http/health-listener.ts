/**
 * Liveness on a port of its own (HEALTH_PORT), answered by a worker thread.
 *
 * `/healthz` on the FHIR port is answered by the main event loop, so under a burst it waits
 * behind whatever that loop has to do in one turn: accepting and shedding hundreds of
 * connections takes a few hundred milliseconds on two cores, and a load balancer's probe
 * with a short timeout would take a node out of rotation that is merely busy
 * (docs/configuration.md, "Load shedding"). The worker answers at once, whatever the main
 * loop is doing; it still tells a stuck process from a busy one, because the main loop writes
 * a heartbeat into shared memory and the worker answers 503 when the heartbeat is older than
 * HEALTH_MAX_STALL_MS.
 *
 * The worker's code is plain JavaScript run with `eval`, so it needs no TypeScript loader in
 * development and no extra file in the built image.
 */
import { Worker } from 'node:worker_threads';

export interface HealthListenerOptions {
  readonly port: number;
  readonly host: string;
  /** The main loop counts as stuck when its heartbeat is older than this. */
  readonly maxStallMs: number;
}

export interface HealthListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Runs in the worker: a bare node:http server with one route. */
const WORKER_SOURCE = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const heartbeat = new BigInt64Array(workerData.heartbeat);
const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
const server = createServer((req, res) => {
  const path = (req.url || '').split('?')[0];
  if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) {
    json(res, 404, { status: 'not found', path: '/healthz' });
    return;
  }
  const stalledMs = Date.now() - Number(Atomics.load(heartbeat, 0));
  if (stalledMs > workerData.maxStallMs) {
    json(res, 503, { status: 'stalled', eventLoopStalledMs: stalledMs });
    return;
  }
  json(res, 200, { status: 'ok' });
});
server.keepAliveTimeout = 72000;
server.on('error', (error) => parentPort.postMessage({ kind: 'error', code: error.code, message: error.message }));
server.listen({ port: workerData.port, host: workerData.host }, () => parentPort.postMessage({ kind: 'listening', port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'close') {
    server.close(() => parentPort.postMessage({ kind: 'closed' }));
    server.closeAllConnections();
  }
});
`;

/** Thrown when the worker could not bind its port; `code` is the socket error code (EADDRINUSE...). */
export class HealthListenError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined
  ) {
    super(message);
  }
}

type WorkerMessage = { kind: 'listening'; port: number } | { kind: 'error'; code?: string; message: string } | { kind: 'closed' };

/** Starts the worker and resolves once its port is bound; rejects with HealthListenError if it cannot be. */
export async function startHealthListener(options: HealthListenerOptions): Promise<HealthListener> {
  const heartbeat = new BigInt64Array(new SharedArrayBuffer(8));
  const beat = (): void => {
    Atomics.store(heartbeat, 0, BigInt(Date.now()));
  };
  beat();
  // Several beats per allowed stall, so a loop that is only busy never looks stuck.
  const timer = setInterval(beat, Math.max(10, Math.min(250, Math.floor(options.maxStallMs / 4))));
  timer.unref();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { heartbeat: heartbeat.buffer, port: options.port, host: options.host, maxStallMs: options.maxStallMs },
    // The worker needs none of the main thread's loaders or instrumentation.
    execArgv: [],
  });
  worker.unref();
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: WorkerMessage) => {
      if (message.kind === 'listening') {
        resolve(message.port);
      } else {
        reject(new HealthListenError(message.kind === 'error' ? message.message : 'health listener closed', message.kind === 'error' ? message.code : undefined));
      }
    });
    worker.once('error', (error) => reject(new HealthListenError(error.message, undefined)));
  }).catch(async (error: unknown) => {
    clearInterval(timer);
    await worker.terminate();
    throw error;
  });
  return {
    port,
    async close(): Promise<void> {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (message: WorkerMessage) => {
          if (message.kind === 'closed') {
            resolve();
          }
        });
        worker.once('exit', () => resolve());
      });
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
