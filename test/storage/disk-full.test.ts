/**
 * A full disk under the embedded database (PGlite): the real server process with its DATA_DIR on
 * a small tmpfs that a filler file fills. Writes must answer 507 with Retry-After and a `no-store`
 * OperationOutcome, reads keep working, /healthz stays fast, /readyz says `disk full`; once the
 * filler is gone writes work again without a restart; and SIGTERM on a full disk still ends the
 * process within the grace period.
 *
 * Needs root (mount); PGlite pass only: the PostgreSQL server's disk is not the service's to fill
 * (its SQLSTATE 53100 is mapped in test/storage/connection-faults.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { engine } from '../helpers/app.js';
import { adminToken, freePort, probe, ServerProcess, serverDatabase, sleep } from '../helpers/server-process.js';

const MB = 1024 * 1024;
const MARGIN_MB = 32;

function mountTmpfs(dir: string, sizeMb: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

/** Writes a filler file that leaves `leaveBytes` free on the filesystem of `dir`. */
function fill(dir: string, leaveBytes: number): string {
  const s = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - leaveBytes)));
  return filler;
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: { resourceType?: string; id?: string; issue?: Array<{ code?: string }>; reason?: string };
  readonly ms: number;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text ? JSON.parse(text) : {}, ms: Date.now() - started };
}

const mountPoint = mkdtempSync(join(tmpdir(), 'schakel-disk-'));
const mountError = engine === 'pglite' ? mountTmpfs(mountPoint, 120) : undefined;
if (engine !== 'pglite') {
  rmSync(mountPoint, { recursive: true, force: true });
  t.plan(0, 'the full-disk test fills the PGlite data folder; in the PostgreSQL pass the server disk is not ours (53100 is mapped in connection-faults.test.ts)');
} else if (mountError !== undefined) {
  rmSync(mountPoint, { recursive: true, force: true });
  t.plan(0, `cannot mount a small tmpfs for the data folder (needs root): ${mountError}`);
} else {
  t.teardown(() => {
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    } catch {
      // Already unmounted, or still busy: the folder stays behind in tmp.
    }
    rmSync(mountPoint, { recursive: true, force: true });
  });

  t.test('a full disk: writes 507, reads 200, /readyz says why, writes again once space is freed, SIGTERM still works', async (t) => {
    const dataDir = join(mountPoint, 'db');
    const database = await serverDatabase(dataDir);
    const graceMs = 10_000;
    const server = new ServerProcess(await freePort(), { ...database.env, DISK_FREE_MARGIN_MB: String(MARGIN_MB), SHUTDOWN_GRACE_MS: String(graceMs) });
    t.teardown(() => server.stop(3000));
    if (!(await server.listening(180_000))) {
      t.fail(`the server did not start: ${server.log.slice(-10).join('\n')}`);
      return;
    }
    const token = await adminToken(server.base, dataDir);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
    const patient = (family: string): RequestInit => ({ method: 'POST', headers, body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }) });
    const created = await call(`${server.base}/fhir/Patient`, patient('Vol'));
    t.equal(created.status, 201, 'a create succeeds with room on the disk');

    let filler = fill(mountPoint, 8 * MB);
    await sleep(500);
    const refused = await call(`${server.base}/fhir/Patient`, patient('Vol'));
    t.equal(refused.status, 507, 'a create on a full disk answers 507 Insufficient Storage');
    t.equal(refused.body.resourceType, 'OperationOutcome');
    t.equal(refused.body.issue?.[0]?.code, 'no-store', 'issue type no-store');
    t.ok(refused.retryAfter !== null && Number(refused.retryAfter) > 0, 'with Retry-After');
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] };
    const transaction = await call(`${server.base}/fhir`, { method: 'POST', headers, body: JSON.stringify(bundle) });
    t.equal(transaction.status, 507, 'a transaction answers 507 too');
    const read = await call(`${server.base}/fhir/Patient/${created.body.id ?? ''}`, { headers });
    t.equal(read.status, 200, 'a read still works');
    t.equal(read.body.id, created.body.id);
    const search = await call(`${server.base}/fhir/Patient?family=Vol`, { headers });
    t.equal(search.status, 200, 'a search still works');
    const health = await call(`${server.base}/healthz`);
    t.ok(health.status === 200 && health.ms < 2000, `/healthz answers 200 in ${health.ms} ms`);
    const ready = await call(`${server.base}/readyz`);
    t.equal(ready.status, 503, '/readyz is 503');
    t.equal(ready.body.reason, 'disk full', 'with the reason');

    unlinkSync(filler);
    await sleep(500);
    const again = await call(`${server.base}/fhir/Patient`, patient('Ruimte'));
    t.equal(again.status, 201, 'once space is freed a create succeeds again, without a restart');
    t.equal((await call(`${server.base}/readyz`)).status, 200, '/readyz is 200 again');

    filler = fill(mountPoint, 8 * MB);
    await sleep(500);
    t.equal((await call(`${server.base}/fhir/Patient`, patient('Vol'))).status, 507, 'full again');
    const signalled = Date.now();
    server.signal('SIGTERM');
    t.ok(await server.waitForExit(graceMs + 5000), 'SIGTERM on a full disk ends the process');
    t.ok(server.exit !== undefined && server.exit.at - signalled < graceMs, `within the grace period (${server.exit ? server.exit.at - signalled : -1} ms)`);
    t.equal(server.exit?.code, 0, 'exit code 0');
    unlinkSync(filler);
    t.equal(await probe(`${server.base}/healthz`, 1000), 0, 'nothing listens any more');
  });
}
