/**
 * /healthz on HEALTH_PORT, answered by a worker thread (src/http/health-listener.ts): it answers
 * while the main event loop is blocked, and says 503 once the main loop has been stuck longer
 * than the allowed stall. The burst measurement is in test/http/overload.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { HealthListenError, startHealthListener } from '../../src/http/health-listener.js';
import { freePort, ServerProcess } from '../helpers/server-process.js';

/**
 * GET from a child process while this thread waits for it (spawnSync blocks the event loop): the
 * child first sleeps `delayMs`, so the main loop of this process has been stuck that long when
 * the request arrives.
 */
function getWhileBlocked(url: string, delayMs: number): { status: number; body: { status?: string; eventLoopStalledMs?: number } } {
  const script = `setTimeout(() => fetch(${JSON.stringify(url)}).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() }))), ${delayMs});`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(child.stdout) as { status: number; body: { status?: string; eventLoopStalledMs?: number } };
}

t.test('the worker answers /healthz, and 503 while the main loop is stuck past the allowed stall', async (t) => {
  const listener = await startHealthListener({ port: await freePort(), host: '127.0.0.1', maxStallMs: 3000 });
  t.teardown(() => listener.close());
  const url = `http://127.0.0.1:${listener.port}/healthz`;

  const ok = await fetch(url);
  t.equal(ok.status, 200, 'a live loop: 200');
  t.same(await ok.json(), { status: 'ok' });
  t.equal(ok.headers.get('cache-control'), 'no-store');

  const other = await fetch(`http://127.0.0.1:${listener.port}/fhir/Patient`);
  t.equal(other.status, 404, 'nothing but /healthz is served on the health port');
  await other.arrayBuffer();

  // Blocked while a child process starts (well under a second): busy, not stuck.
  const busy = getWhileBlocked(url, 0);
  t.equal(busy.status, 200, 'answered while the main loop is blocked, within the allowed stall: 200');

  // Blocked for more than the 3 s allowed: stuck.
  const stuck = getWhileBlocked(url, 4000);
  t.equal(stuck.status, 503, 'the main loop stuck past HEALTH_MAX_STALL_MS: 503');
  t.equal(stuck.body.status, 'stalled');
  t.ok((stuck.body.eventLoopStalledMs ?? 0) > 3000, `the stall is reported (${String(stuck.body.eventLoopStalledMs)} ms)`);

  // The loop runs again: the next heartbeat makes it live.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal((await fetch(url).then(async (r) => (await r.arrayBuffer(), r))).status, 200, 'live again once the loop runs');
});

t.test('a busy health port is reported with its code', async (t) => {
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const error = await startHealthListener({ port, host: '127.0.0.1', maxStallMs: 1000 }).then(
    () => undefined,
    (e: unknown) => e
  );
  t.ok(error instanceof HealthListenError, 'HealthListenError');
  t.equal(error instanceof HealthListenError ? error.code : undefined, 'EADDRINUSE');
});

t.test('the server exits at once when HEALTH_PORT is in use, naming it', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'schakel-health-port-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const healthPort = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(healthPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const server = new ServerProcess(await freePort(), { DATA_DIR: work, HEALTH_PORT: String(healthPort) });
  t.teardown(() => server.stop());
  t.ok(await server.waitForExit(60_000), 'the process exits');
  t.equal(server.exit?.code, 1, 'exit code 1');
  const lines = server.log.flatMap((line) => {
    try {
      return [JSON.parse(line) as { level?: string | number; phase?: string; code?: string }];
    } catch {
      return [];
    }
  });
  t.ok(
    lines.some((l) => l.phase === 'listen-health' && l.code === 'EADDRINUSE'),
    'a fatal log line names the listen-health phase and EADDRINUSE'
  );
});
