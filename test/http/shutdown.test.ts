import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/storage/database.js';
import { engine, testConfig } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { adminAuthorization, testAuthSetup } from '../helpers/auth.js';
import { adminToken, freePort, probe, ServerProcess, serverDatabase, sleep } from '../helpers/server-process.js';

/** The real database, with reads slowed down so that a request is still in flight at close. */
function slowReads(db: Database, gate: Promise<void>, armed: () => boolean): Database & { closed: boolean } {
  const wrapped = {
    ...db,
    closed: false,
    query: async (sql: string, params?: readonly unknown[]) => {
      if (armed() && /^\s*SELECT version_id, last_updated, deleted, content FROM resource\b/.test(sql)) {
        await gate;
      }
      return db.query(sql, params);
    },
    close: async () => {
      wrapped.closed = true;
      await db.close();
    },
  };
  return wrapped as Database & { closed: boolean };
}

t.test(`graceful shutdown finishes in-flight requests before closing the database on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The start reads the installed profiles and definitions: slow down reads only once up.
  let started = false;
  const db = slowReads(database.db, gate, () => started);
  const app = await buildApp({ config: testConfig(), db, auth: await testAuthSetup() });
  const authorization = await adminAuthorization(app);
  await app.inject({ method: 'PUT', url: '/fhir/Patient/p1', headers: { 'content-type': 'application/fhir+json', authorization }, payload: JSON.stringify({ resourceType: 'Patient', id: 'p1' }) });
  started = true;
  const address = await app.listen({ port: 0, host: '127.0.0.1' });

  const inFlight = fetch(`${address}/fhir/Patient/p1`, { headers: { authorization } });
  await new Promise((r) => setTimeout(r, 100));
  const closing = app.close();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(db.closed, false, 'the database stays open while a request is in flight');
  release();
  const response = await inFlight;
  t.equal(response.status, 200, 'the in-flight request completes');
  t.equal(((await response.json()) as { id: string }).id, 'p1');
  await closing;
  t.equal(db.closed, true, 'the database is closed once the server has stopped');
});

/**
 * The real process under keep-alive load: SIGTERM while 21 requests (transactions of many
 * entries among them, and one whose body is still arriving) are in flight. Each in-flight request must finish 2xx, none may be reset;
 * a request that arrives afterwards on an open connection gets 503 + Retry-After + an
 * OperationOutcome (or its connection is refused); the process exits 0 within the grace period.
 */
type Answer =
  | { readonly kind: 'response'; readonly status: number; readonly connection: string | null; readonly retryAfter: string | null; readonly resourceType: unknown; readonly issueCode: unknown; readonly at: number }
  | { readonly kind: 'refused' | 'reset'; readonly detail: string; readonly at: number };

function errorCode(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  const message = cause instanceof Error ? cause.message : String(error);
  return `${code} ${message}`.trim();
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    const body = (text ? JSON.parse(text) : {}) as { resourceType?: unknown; issue?: Array<{ code?: unknown }> };
    return {
      kind: 'response',
      status: response.status,
      connection: response.headers.get('connection'),
      retryAfter: response.headers.get('retry-after'),
      resourceType: body.resourceType,
      issueCode: body.issue?.[0]?.code,
      at: Date.now(),
    };
  } catch (error) {
    const detail = errorCode(error);
    return { kind: /ECONNREFUSED/.test(detail) ? 'refused' : 'reset', detail, at: Date.now() };
  }
}

/** A Patient create whose body stream sends its first half at once and the rest on finish(). */
function heldCreate(): { body: ReadableStream<Uint8Array>; finish: () => void } {
  const text = JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:test:shutdown', value: 'held' }], name: [{ family: 'Afsluiten' }] });
  const bytes = new TextEncoder().encode(text);
  let finish!: () => void;
  const rest = new Promise<void>((resolve) => (finish = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(bytes.subarray(0, bytes.length >> 1));
      await rest;
      controller.enqueue(bytes.subarray(bytes.length >> 1));
      controller.close();
    },
  });
  return { body, finish };
}

/** Whether a new TCP connection to the server is accepted. */
function connects(base: string): Promise<boolean> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function transactionOf(entries: number, tag: string): unknown {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: entries }, (_, i) => ({
      resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:shutdown', value: `${tag}-${i}` }], name: [{ family: `Afsluiten${i}` }] },
      request: { method: 'POST', url: 'Patient' },
    })),
  };
}

t.test(`SIGTERM under keep-alive load on ${engine}: in-flight requests finish, later ones get 503, exit 0`, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'schakel-shutdown-'));
  const database = await serverDatabase(dataDir);
  const graceMs = 20_000;
  const server = new ServerProcess(await freePort(), { ...database.env, SHUTDOWN_GRACE_MS: String(graceMs) });
  t.teardown(async () => {
    await server.stop();
    await database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (!(await server.listening(180_000))) {
    t.fail(`the server did not start: ${server.log.slice(-10).join('\n')}`);
    return;
  }
  const token = await adminToken(server.base, dataDir);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
  const seeded = await send(`${server.base}/fhir`, { method: 'POST', headers, body: JSON.stringify(transactionOf(50, 'seed')) });
  t.equal(seeded.kind === 'response' && seeded.status, 200, 'seed transaction');
  // Warm up 30 keep-alive connections: the 21 requests below take 21 of them, so that some stay
  // idle and open for the requests after the signal, however fast or slow the 21 are.
  await Promise.all(Array.from({ length: 30 }, () => send(`${server.base}/fhir/Patient?identifier=urn:test:shutdown|&_count=1`, { headers })));

  // One request whose body is only half sent until the later requests have been answered: it
  // is in flight for certain when those arrive, so the drain keeps the idle connections open.
  const held = heldCreate();
  const inFlight: Array<Promise<Answer>> = [send(`${server.base}/fhir/Patient`, { method: 'POST', headers, body: held.body, duplex: 'half' })];
  for (let i = 0; i < 20; i++) {
    if (i % 5 === 0) {
      inFlight.push(send(`${server.base}/fhir`, { method: 'POST', headers, body: JSON.stringify(transactionOf(40, `load${i}`)) }));
    } else if (i % 2 === 0) {
      inFlight.push(send(`${server.base}/fhir/Patient?identifier=urn:test:shutdown|&_count=200`, { headers }));
    } else {
      inFlight.push(send(`${server.base}/fhir/Patient?name=Afsluiten&_count=50&_sort=-_lastUpdated`, { headers }));
    }
  }
  // A request sent after the 21 and answered: the server has read them all (it reads sockets in order).
  t.equal(await probe(`${server.base}/healthz`), 200, 'the server has read the 21 requests');
  const signalled = Date.now();
  server.signal('SIGTERM');
  // The signal is handled once a new connection is refused; only then do the later requests go out.
  while (Date.now() - signalled < 30_000 && (await connects(server.base))) {
    await sleep(20);
  }
  const closing = Date.now();
  t.ok(closing - signalled < 30_000, `new connections are refused ${closing - signalled} ms after the signal`);
  const later = await Promise.all(Array.from({ length: 6 }, () => send(`${server.base}/fhir/Patient?_count=1`, { headers })));
  held.finish();
  const answers = await Promise.all(inFlight);
  t.ok(await server.waitForExit(graceMs + 5000), 'the process exits');

  const responses = answers.filter((a) => a.kind === 'response');
  t.same(
    answers.filter((a) => a.kind !== 'response' || a.status < 200 || a.status >= 300).map((a) => (a.kind === 'response' ? a.status : a.detail)),
    [],
    'every in-flight request is answered 2xx (none reset, none 503)'
  );
  t.ok(responses.filter((a) => a.at > signalled).length > 0, `${responses.filter((a) => a.at > signalled).length} of them finished after the signal`);
  t.ok(
    responses.filter((a) => a.at > closing).every((a) => a.kind === 'response' && a.connection === 'close'),
    `those answered during shutdown (${responses.filter((a) => a.at > closing).length}) close their keep-alive connection (Connection: close)`
  );
  t.same(later.filter((a) => a.kind === 'reset').map((a) => (a.kind === 'reset' ? a.detail : '')), [], 'no later request is reset');
  const refused = later.filter((a) => a.kind === 'response');
  t.same(
    refused
      .filter((a) => a.kind === 'response' && (a.status !== 503 || a.retryAfter === null || a.resourceType !== 'OperationOutcome' || a.issueCode !== 'transient'))
      .map((a) => (a.kind === 'response' ? `${a.status} ${String(a.resourceType)}` : '')),
    [],
    `later requests on open connections (${refused.length}) get 503 with Retry-After and a transient OperationOutcome; the rest are refused`
  );
  t.ok(refused.length > 0, 'open keep-alive connections stay open until the last in-flight response, and answer');
  t.equal(server.exit?.code, 0, 'exit code 0');
  t.ok(server.exit !== undefined && server.exit.at - signalled < graceMs, `exits ${server.exit ? server.exit.at - signalled : -1} ms after the signal, within the grace period`);
  t.comment(`in flight at the signal: ${responses.filter((a) => a.at > signalled).length}; later: ${later.map((a) => (a.kind === 'response' ? a.status : a.kind)).join(' ')}`);
});
