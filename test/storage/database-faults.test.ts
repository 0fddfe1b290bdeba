/**
 * PostgreSQL restarts and outages are ordinary events: the real server process (src/server.ts)
 * is started while its own throwaway PostgreSQL is down, must wait for it, and then runs under a
 * light steady load of creates and reads while that PostgreSQL restarts (fast, immediate) and
 * stops for 20 s. The process must never exit, never answer 500, answer 503 + Retry-After + a
 * `transient` OperationOutcome while the database is away, report it on /readyz, serve again
 * within seconds of the database's return, and keep every create it acknowledged.
 *
 * Only in the PostgreSQL pass of CI (DATABASE_URL set): PGlite has no server to restart. The
 * shared CI server is never restarted; this file starts its own (scripts/throwaway-postgres.sh).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { adminToken, freePort, probe, ServerProcess, sleep } from '../helpers/server-process.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** The newest installed PostgreSQL's bin folder, found as scripts/throwaway-postgres.sh does. */
function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    if (existsSync(join(base, v, 'bin', 'pg_ctl'))) {
      return join(base, v, 'bin');
    }
  }
  return '';
}

interface Throwaway {
  readonly url: string;
  readonly dir: string;
  readonly port: number;
}

async function startThrowaway(): Promise<Throwaway> {
  const { stdout } = await run('bash', [join(ROOT, 'scripts/throwaway-postgres.sh'), 'start']);
  const url = /DATABASE_URL=(\S+)/.exec(stdout)?.[1];
  const dir = /PG_THROWAWAY_DIR=(\S+)/.exec(stdout)?.[1];
  if (!url || !dir) {
    throw new Error(`throwaway-postgres.sh printed no DATABASE_URL: ${stdout}`);
  }
  return { url, dir, port: Number(new URL(url).port) };
}

/** pg_ctl on the throwaway server, as its owner (initdb made it the postgres user's under root). */
async function pgCtl(pg: Throwaway, ...args: string[]): Promise<void> {
  const command = [join(pgBin() || '', 'pg_ctl'), '-D', join(pg.dir, 'data'), '-l', join(pg.dir, 'server.log'), '-w', '-t', '60', ...args];
  if (process.getuid?.() === 0) {
    await run('runuser', ['-u', 'postgres', '--', ...command]);
  } else {
    await run(command[0]!, command.slice(1));
  }
}

/**
 * The options scripts/throwaway-postgres.sh starts it with, but with synchronous_commit on: with
 * it off, `-m immediate` (a crash) may lose commits already acknowledged, by PostgreSQL's design,
 * and the test could not tell that from a fault of Schakel. fsync=off is harmless here: the
 * operating system keeps what PostgreSQL wrote.
 */
function pgOptions(pg: Throwaway): string[] {
  return ['-o', `-p ${pg.port} -c listen_addresses=127.0.0.1 -k ${pg.dir} -c max_connections=300 -c fsync=off -c synchronous_commit=on`];
}

interface Sample {
  readonly kind: 'create' | 'read' | 'search' | 'healthz';
  readonly started: number;
  readonly ended: number;
  /** 0: no HTTP answer at all (refused, reset or timed out). */
  readonly status: number;
  readonly retryAfter: string | null;
  readonly issueCode: string | undefined;
  readonly resourceType: string | undefined;
}

/** A few workers that create and read Patients without pause, recording every answer. */
class Load {
  readonly samples: Sample[] = [];
  /** Ids of every create answered 201: they must all be readable afterwards. */
  readonly acknowledged: string[] = [];
  private running = true;
  private readonly workers: Promise<void>[];

  constructor(
    private readonly base: string,
    private readonly token: string,
    workers: number
  ) {
    this.workers = Array.from({ length: workers }, (_, n) => this.work(n));
  }

  private async call(kind: Sample['kind'], path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
    const started = Date.now();
    let status = 0;
    let retryAfter: string | null = null;
    let body: unknown;
    try {
      const headers = kind === 'healthz' ? {} : { authorization: `Bearer ${this.token}`, ...(init.body ? { 'content-type': 'application/fhir+json' } : {}) };
      const response = await fetch(`${this.base}${path}`, { ...init, headers, signal: AbortSignal.timeout(15_000) });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      const text = await response.text();
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // No HTTP answer at all: status stays 0.
    }
    const typed = body as { resourceType?: string; issue?: Array<{ code?: string }> } | undefined;
    this.samples.push({ kind, started, ended: Date.now(), status, retryAfter, issueCode: typed?.issue?.[0]?.code, resourceType: typed?.resourceType });
    return { status, body };
  }

  private async work(n: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      if (i % 2 === 0) {
        const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:test:db-faults', value: `w${n}-${i}-${randomUUID()}` }], name: [{ family: 'Storing' }] };
        const { status, body } = await this.call('create', '/fhir/Patient', { method: 'POST', body: JSON.stringify(patient) });
        if (status === 201) {
          this.acknowledged.push((body as { id: string }).id);
        }
      } else if (i % 4 === 1 && this.acknowledged.length > 0) {
        await this.call('read', `/fhir/Patient/${this.acknowledged[Math.floor(Math.random() * this.acknowledged.length)]}`);
      } else if (i % 4 === 3) {
        await this.call('search', '/fhir/Patient?identifier=urn:test:db-faults|&_count=5');
      } else {
        await this.call('healthz', '/healthz');
      }
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.started >= from && s.started < to);
  }
}

/** Polls /readyz every 200 ms while the fault runs; records what it said and when. */
async function watchReadiness(base: string, until: () => boolean): Promise<Array<{ at: number; status: number; reason: unknown }>> {
  const seen: Array<{ at: number; status: number; reason: unknown }> = [];
  while (!until()) {
    const at = Date.now();
    try {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { reason?: unknown };
      seen.push({ at, status: response.status, reason: body.reason });
    } catch {
      seen.push({ at, status: 0, reason: undefined });
    }
    await sleep(200);
  }
  return seen;
}

/** Time until /readyz is 200 and a create succeeds, from `since`; -1 if not within `limitMs`. */
async function recovery(base: string, token: string, since: number, limitMs: number): Promise<number> {
  while (Date.now() - since < limitMs) {
    if ((await probe(`${base}/readyz`)) === 200) {
      const response = await fetch(`${base}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Hersteld' }] }),
      });
      await response.arrayBuffer();
      if (response.status === 201) {
        return Date.now() - since;
      }
    }
    await sleep(100);
  }
  return -1;
}

if (!process.env['DATABASE_URL'] || !pgBin()) {
  t.plan(
    0,
    'database fault tests run in the PostgreSQL pass only (DATABASE_URL set, PostgreSQL server binaries installed): PGlite has no server to restart'
  );
} else {
  const pg = await startThrowaway();
  const dataDir = mkdtempSync(join(tmpdir(), 'schakel-faults-'));
  t.teardown(async () => {
    await run('bash', [join(ROOT, 'scripts/throwaway-postgres.sh'), 'stop', pg.dir]).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = { DATABASE_URL: pg.url, DATA_DIR: dataDir, DATABASE_CONNECT_TIMEOUT_MS: '2000', DATABASE_STARTUP_WAIT_SECONDS: '60' };

  t.test('a start without PostgreSQL waits for it; restarts and a 20 s outage under load', async (t) => {
    // The server under load is one started while the database was down: it must wait, not exit.
    await pgCtl(pg, '-m', 'fast', 'stop');
    const away = Date.now();
    const impatient = new ServerProcess(await freePort(), { ...env, DATABASE_STARTUP_WAIT_SECONDS: '0' });
    const server = new ServerProcess(await freePort(), env);
    t.teardown(async () => {
      await server.stop();
      await impatient.stop();
    });
    const waiting = (): boolean => server.log.some((line) => /"retryInMs"/.test(line));
    while (!waiting() && server.alive && Date.now() - away < 40_000) {
      await sleep(200);
    }
    t.ok(waiting(), 'a start without the database logs each attempt and waits');
    t.ok(await impatient.waitForExit(30_000), 'DATABASE_STARTUP_WAIT_SECONDS=0: a start without the database fails at once');
    t.equal(impatient.exit?.code, 1, 'with exit code 1');
    await sleep(3000);
    t.ok(server.alive, `the waiting server is still waiting after ${Math.round((Date.now() - away) / 1000)} s`);
    await pgCtl(pg, ...pgOptions(pg), 'start');
    const started = Date.now();
    t.ok(await server.listening(60_000), `and serves ${Date.now() - started} ms after the database started (migrations and start-up included)`);
    t.equal(await probe(`${server.base}/readyz`), 200, '/readyz is 200');

    const token = await adminToken(server.base, dataDir);
    const load = new Load(server.base, token, 4);
    await sleep(1000);

    const faults: Array<{ name: string; fault: () => Promise<void>; outage: boolean }> = [
      { name: 'pg_ctl restart -m fast', fault: () => pgCtl(pg, ...pgOptions(pg), '-m', 'fast', 'restart'), outage: false },
      { name: 'pg_ctl restart -m immediate', fault: () => pgCtl(pg, ...pgOptions(pg), '-m', 'immediate', 'restart'), outage: false },
      {
        name: 'pg_ctl stop, 20 s away, start',
        fault: async () => {
          await pgCtl(pg, '-m', 'fast', 'stop');
          await sleep(20_000);
          await pgCtl(pg, ...pgOptions(pg), 'start');
        },
        outage: true,
      },
    ];
    for (const { name, fault, outage } of faults) {
      const from = Date.now();
      let done = false;
      const readiness = watchReadiness(server.base, () => done);
      await fault();
      const back = Date.now();
      const recovered = await recovery(server.base, token, back, 10_000);
      done = true;
      const ready = await readiness;
      await sleep(1000);
      const to = Date.now();
      const samples = load.between(from, to);
      const failed = samples.filter((s) => s.status < 200 || s.status >= 300);
      t.ok(server.alive, `${name}: the process is still running`);
      t.ok(recovered >= 0 && recovered < 10_000, `${name}: serving again ${recovered} ms after the database is back`);
      t.same(
        failed.filter((s) => s.status !== 503).map((s) => `${s.kind} ${s.status}`),
        [],
        `${name}: every failed request answered 503 (${failed.length} of ${samples.length}), none 500 or unanswered`
      );
      t.same(
        failed.filter((s) => s.retryAfter === null || s.resourceType !== 'OperationOutcome' || s.issueCode !== 'transient').map((s) => s.kind),
        [],
        `${name}: each 503 has Retry-After and an OperationOutcome with issue code transient`
      );
      t.ok(samples.filter((s) => s.kind === 'healthz').every((s) => s.status === 200), `${name}: /healthz stays 200 (it never touches the database)`);
      t.equal(ready.at(-1)?.status, 200, `${name}: /readyz is 200 once the database is back`);
      const settled = samples.filter((s) => s.started > back + recovered + 500);
      t.ok(settled.length > 0 && settled.every((s) => s.status >= 200 && s.status < 300), `${name}: all ${settled.length} requests after recovery succeed`);
      if (outage) {
        const away = ready.filter((r) => r.at > from + 1000 && r.at < back - 1000);
        t.ok(away.length > 10 && away.every((r) => r.status === 503 && typeof r.reason === 'string'), `${name}: /readyz is 503 with a reason while the database is away (${away.length} probes)`);
        const during = load.between(from + 1000, back - 1000).filter((s) => s.kind !== 'healthz');
        t.ok(during.length > 10 && during.every((s) => s.status === 503), `${name}: ${during.length} requests during the outage answered 503`);
        t.ok(during.every((s) => s.ended - s.started < 5000), `${name}: no request hung on the unreachable database`);
      }
    }
    await load.stop();

    t.ok(load.acknowledged.length > 20, `${load.acknowledged.length} creates acknowledged`);
    const missing: string[] = [];
    for (let i = 0; i < load.acknowledged.length; i += 50) {
      const ids = load.acknowledged.slice(i, i + 50);
      const response = await fetch(`${server.base}/fhir/Patient?_id=${ids.join(',')}&_count=50&_elements=id`, { headers: { authorization: `Bearer ${token}` } });
      const bundle = (await response.json()) as { entry?: Array<{ resource: { id: string } }> };
      const found = new Set((bundle.entry ?? []).map((e) => e.resource.id));
      missing.push(...ids.filter((id) => !found.has(id)));
    }
    t.same(missing, [], 'every acknowledged create can be read back');
    t.ok(server.alive, 'the process never exited');
    if (!server.alive) {
      t.comment(server.log.slice(-30).join('\n'));
    }
  });
}
