/**
 * The start of the real process (src/server.ts): the port is bound before the slow work, so a
 * busy port fails fast, /healthz answers during the start and /readyz says 503 until the app
 * serves; each phase logs one line; production refuses to start without PUBLIC_BASE_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { STARTUP_LOCK } from '../../src/storage/startup-lock.js';
import { engine } from '../helpers/database.js';
import { freePort, health, probe, ServerProcess, serverDatabase, sleep } from '../helpers/server-process.js';

const work = mkdtempSync(join(tmpdir(), 'schakel-server-start-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

interface LogLine {
  readonly level?: string;
  readonly phase?: string;
  readonly code?: string;
  readonly durationMs?: number;
  readonly retryInMs?: number;
}

function logLines(server: ServerProcess): LogLine[] {
  return server.log.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

async function startingAnswer(t: Test, url: string, what: string): Promise<void> {
  const response = await fetch(url);
  t.equal(response.status, 503, `${what}: 503 while starting`);
  t.ok(Number(response.headers.get('retry-after')) > 0, `${what}: with Retry-After`);
  const body = (await response.json()) as { resourceType?: string; issue?: Array<{ code?: string }> };
  t.equal(body.resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
  t.equal(body.issue?.[0]?.code, 'transient', `${what}: issue code transient`);
}

t.test('a port in use: the process exits within seconds, saying so', async (t) => {
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const started = Date.now();
  const server = new ServerProcess(port, { DATA_DIR: join(work, 'busy') });
  t.teardown(() => server.stop());
  t.ok(await server.waitForExit(60_000), 'the process exits');
  const seconds = ((server.exit?.at ?? Date.now()) - started) / 1000;
  t.ok(seconds < 10, `within 10 s (took ${seconds.toFixed(1)} s, process start included)`);
  t.equal(server.exit?.code, 1, 'exit code 1');
  t.ok(
    logLines(server).some((l) => l.level === 'fatal' && l.phase === 'listen' && l.code === 'EADDRINUSE'),
    'a fatal log line names the listen phase and EADDRINUSE'
  );
});

t.test('production without PUBLIC_BASE_URL refuses to start', async (t) => {
  const server = new ServerProcess(await freePort(), { DATA_DIR: join(work, 'production'), SCHAKEL_MODE: 'production' });
  t.teardown(() => server.stop());
  t.ok(await server.waitForExit(60_000), 'the process exits');
  t.equal(server.exit?.code, 2, 'exit code 2: configuration');
  t.ok(server.log.some((line) => line.includes('PUBLIC_BASE_URL')), 'the message names PUBLIC_BASE_URL');
});

t.test('an unreachable database: retried up to DATABASE_STARTUP_WAIT_SECONDS, then a clear exit', async (t) => {
  // Nothing listens on this port: every connect is refused at once.
  const nowhere = `postgres://schakel@127.0.0.1:${await freePort()}/schakel`;
  const started = Date.now();
  const server = new ServerProcess(await freePort(), { DATA_DIR: join(work, 'nowhere'), DATABASE_URL: nowhere, DATABASE_STARTUP_WAIT_SECONDS: '2', DATABASE_CONNECT_TIMEOUT_MS: '500' });
  t.teardown(() => server.stop());
  t.ok(await server.waitForExit(60_000), 'the process exits');
  t.ok((server.exit?.at ?? Date.now()) - started < 30_000, 'after the configured wait, not later');
  t.equal(server.exit?.code, 1, 'exit code 1');
  const lines = logLines(server);
  t.ok(lines.some((l) => l.level === 'warn' && typeof l.retryInMs === 'number'), 'each retry is logged');
  t.ok(lines.some((l) => l.level === 'fatal' && l.phase === 'connect'), 'a fatal line names the connect phase');
});

t.test(`on ${engine}: /healthz answers during the start, /readyz 503 then 200, one log line per phase`, async (t) => {
  const database = await serverDatabase(join(work, 'slow'));
  t.teardown(() => database.destroy());
  // On PostgreSQL the start is held by another "node" holding the start-up lock, so the
  // starting state lasts as long as the test wants; on PGlite the definitions take seconds anyway.
  let holder: pg.Client | undefined;
  if (database.url !== undefined) {
    holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK]);
  }
  t.teardown(() => holder?.end());
  const server = new ServerProcess(await freePort(), { ...database.env, LOG_LEVEL: 'info' });
  t.teardown(() => server.stop());

  let status: string | undefined;
  const until = Date.now() + 60_000;
  while (status === undefined && server.alive && Date.now() < until) {
    status = await health(server.base);
    await sleep(50);
  }
  t.equal(status, 'starting', '/healthz: 200, starting');
  await startingAnswer(t, `${server.base}/readyz`, '/readyz');
  await startingAnswer(t, `${server.base}/fhir/metadata`, 'a FHIR route');
  if (holder !== undefined) {
    while (!logLines(server).some((l) => l.phase === 'lock') && server.alive && Date.now() < until) {
      await sleep(100);
    }
    t.ok(logLines(server).some((l) => l.phase === 'lock'), 'the start logs that it waits for the start-up lock');
    await startingAnswer(t, `${server.base}/readyz`, '/readyz while the lock is held elsewhere');
    await holder.query('SELECT pg_advisory_unlock($1)', [STARTUP_LOCK]);
  }
  t.ok(await server.listening(240_000), 'the server starts');
  t.equal(await probe(`${server.base}/readyz`), 200, '/readyz: 200 once started');
  t.equal(await probe(`${server.base}/fhir/metadata`), 200, 'the FHIR routes answer');
  const phases = logLines(server).filter((l) => typeof l.durationMs === 'number' && l.phase !== undefined && l.phase !== 'lock' && l.level === 'info').map((l) => l.phase);
  t.same(phases, ['listen', 'keys', 'connect', 'migrate', 'definitions', 'seed', 'app'], 'one line per phase with its duration, in order');
});
