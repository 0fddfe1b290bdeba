/**
 * kill -9 under write load. The real server process (src/server.ts) runs 16 concurrent writers
 * (creates, updates with If-Match, three-entry transactions) and is killed with SIGKILL in the
 * middle of it, three times, then started again on the same data. Asserted after each start:
 * the process starts and is ready; every write it acknowledged (2xx with id and version) reads
 * back with at least that version; every transaction is whole or absent (three Patients carry
 * the transaction's marker identifier, or none do).
 *
 * Both engines: a PGlite data folder, or (DATABASE_URL set) a PostgreSQL database of this test's
 * own, created here and dropped afterwards. PGlite is documented as not crash-safe
 * (src/storage/pglite.ts); this test measures what it does after a crash.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { engine } from '../helpers/database.js';
import { adminToken, freePort, probe, ServerProcess, serverDatabase, sleep } from '../helpers/server-process.js';

const WRITERS = 16;
const ROUNDS = 3;
const CREATE_SYSTEM = 'urn:test:crash-create';
const TX_SYSTEM = 'urn:test:crash-transaction';
const TX_SIZE = 3;

interface Acknowledged {
  /** Highest version the server acknowledged for the resource. */
  version: number;
}

/** `.../Patient/{id}/_history/{n}` of a Location header or a transaction entry's location. */
function versionOf(location: string | null | undefined): { id: string; version: number } | undefined {
  const match = /Patient\/([^/]+)\/_history\/(\d+)/.exec(location ?? '');
  return match ? { id: match[1] as string, version: Number(match[2]) } : undefined;
}

interface Owned {
  readonly id: string;
  version: number;
  /** The last write to it had no clear answer: its version is read before the next update. */
  uncertain: boolean;
}

/** Writers that run until stopped, recording every acknowledged write. */
class WriteLoad {
  readonly acknowledged = new Map<string, Acknowledged>();
  /** Marker of every transaction sent, with whether the server acknowledged it. */
  readonly transactions = new Map<string, boolean>();
  acknowledgedWrites = 0;
  /** Answers that are neither success nor an expected conflict: `kind status`. */
  readonly refused: string[] = [];
  private running = true;
  private readonly workers: Promise<void>[];

  constructor(
    private readonly base: string,
    private readonly token: string
  ) {
    this.workers = Array.from({ length: WRITERS }, (_, n) => this.work(n));
  }

  private note(kind: string, response: Response | undefined, expected: readonly number[]): void {
    if (response && !expected.includes(response.status)) {
      this.refused.push(`${kind} ${response.status}`);
    }
  }

  private acknowledge(id: string, version: number): void {
    const known = this.acknowledged.get(id);
    this.acknowledged.set(id, { version: Math.max(version, known?.version ?? 0) });
    this.acknowledgedWrites += 1;
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response | undefined> {
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/fhir+json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      // Killed mid-request: no answer, outcome unknown.
      return undefined;
    }
  }

  private async create(owned: Owned[], n: number): Promise<void> {
    const patient = { resourceType: 'Patient', identifier: [{ system: CREATE_SYSTEM, value: `${n}-${randomUUID()}` }], name: [{ family: 'Crash' }] };
    const response = await this.send('POST', '/fhir/Patient', patient);
    this.note('create', response, [201]);
    const written = response?.status === 201 ? versionOf(response.headers.get('location')) : undefined;
    await response?.arrayBuffer().catch(() => undefined);
    if (written) {
      this.acknowledge(written.id, written.version);
      owned.push({ id: written.id, version: written.version, uncertain: false });
    }
  }

  private async update(target: Owned): Promise<void> {
    if (target.uncertain) {
      const read = await fetch(`${this.base}/fhir/Patient/${target.id}`, { headers: { authorization: `Bearer ${this.token}` } }).catch(() => undefined);
      const current = read?.ok ? ((await read.json()) as { meta?: { versionId?: string } }) : undefined;
      if (!current?.meta?.versionId) {
        return;
      }
      target.version = Number(current.meta.versionId);
      target.uncertain = false;
    }
    const body = { resourceType: 'Patient', id: target.id, identifier: [{ system: CREATE_SYSTEM, value: target.id }], name: [{ family: `Crash ${target.version + 1}` }] };
    const response = await this.send('PUT', `/fhir/Patient/${target.id}`, body, { 'if-match': `W/"${target.version}"` });
    // 412: an earlier update of this writer was cut off by the kill but committed.
    this.note('update', response, [200, 412]);
    const written = response?.status === 200 ? versionOf(response.headers.get('location')) : undefined;
    const etag = response?.headers.get('etag');
    await response?.arrayBuffer().catch(() => undefined);
    const version = written?.version ?? (etag ? Number(/W\/"(\d+)"/.exec(etag)?.[1]) : undefined);
    if (response?.status === 200 && version !== undefined && !Number.isNaN(version)) {
      this.acknowledge(target.id, version);
      target.version = version;
    } else {
      target.uncertain = true;
    }
  }

  private async transaction(): Promise<void> {
    const marker = randomUUID();
    this.transactions.set(marker, false);
    const entry = Array.from({ length: TX_SIZE }, (_, i) => ({
      resource: { resourceType: 'Patient', identifier: [{ system: TX_SYSTEM, value: marker }], name: [{ family: `Transactie ${i}` }] },
      request: { method: 'POST', url: 'Patient' },
    }));
    const response = await this.send('POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
    this.note('transaction', response, [200]);
    if (response?.status !== 200) {
      await response?.arrayBuffer().catch(() => undefined);
      return;
    }
    const bundle = (await response.json().catch(() => undefined)) as { entry?: Array<{ response?: { location?: string } }> } | undefined;
    const written = (bundle?.entry ?? []).map((e) => versionOf(e.response?.location));
    if (written.length === TX_SIZE && written.every((w) => w !== undefined)) {
      this.transactions.set(marker, true);
      for (const w of written) {
        this.acknowledge(w.id, w.version);
      }
    }
  }

  private async work(n: number): Promise<void> {
    const owned: Owned[] = [];
    for (let i = 0; this.running; i++) {
      const target = owned[Math.floor(Math.random() * owned.length)];
      if (i % 3 === 1 && target) {
        await this.update(target);
      } else if (i % 3 === 2) {
        await this.transaction();
      } else {
        await this.create(owned, n);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }
}

async function pages<T>(base: string, token: string, path: string): Promise<T[]> {
  const found: T[] = [];
  let next: string | undefined = `${base}${path}`;
  while (next) {
    const response = await fetch(next, { headers: { authorization: `Bearer ${token}` } });
    const bundle = (await response.json()) as { entry?: Array<{ resource: T; search?: { mode?: string } }>; link?: Array<{ relation: string; url: string }> };
    found.push(...(bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource));
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

interface Stored {
  readonly id: string;
  readonly meta: { versionId: string };
  readonly identifier?: Array<{ system?: string; value?: string }>;
}

/** Acknowledged writes missing or older than acknowledged, and transactions stored in part. */
async function verify(base: string, token: string, load: WriteLoad): Promise<{ lost: string[]; partial: string[]; whole: number }> {
  const created = await pages<Stored>(base, token, `/fhir/Patient?identifier=${CREATE_SYSTEM}|&_count=100&_elements=id,identifier`);
  const inTransactions = await pages<Stored>(base, token, `/fhir/Patient?identifier=${TX_SYSTEM}|&_count=100&_elements=id,identifier`);
  const versions = new Map([...created, ...inTransactions].map((p) => [p.id, Number(p.meta.versionId)]));
  const lost = [...load.acknowledged].filter(([id, ack]) => (versions.get(id) ?? 0) < ack.version).map(([id, ack]) => `${id}@${ack.version}`);
  const perMarker = new Map<string, number>();
  for (const p of inTransactions) {
    const marker = p.identifier?.find((i) => i.system === TX_SYSTEM)?.value ?? '';
    perMarker.set(marker, (perMarker.get(marker) ?? 0) + 1);
  }
  const partial = [...load.transactions].filter(([marker, acked]) => {
    const count = perMarker.get(marker) ?? 0;
    return acked ? count !== TX_SIZE : count !== 0 && count !== TX_SIZE;
  });
  return { lost, partial: partial.map(([m]) => m), whole: [...perMarker.values()].filter((c) => c === TX_SIZE).length };
}

/**
 * Where the server keeps its data: a copy of the PGlite template folder, or a PostgreSQL
 * database made for this test from the template database, so that the first start does not
 * spend its time in initdb or the migrations.
 */
async function dataFor(t: Test): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'schakel-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = await serverDatabase(dataDir);
  t.teardown(() => database.destroy());
  return { env: database.env, dataDir };
}

t.test(`kill -9 under write load loses no acknowledged write on ${engine}`, async (t) => {
  const started = Date.now();
  const { env, dataDir } = await dataFor(t);
  let server: ServerProcess | undefined;
  t.teardown(async () => {
    await server?.stop();
  });
  const start = async (label: string): Promise<ServerProcess> => {
    const s = new ServerProcess(await freePort(), env);
    // Generous: a start compiles TypeScript and opens the database, slow on a busy machine.
    const up = await s.listening(240_000);
    t.ok(up, `${label}: the server starts`);
    if (!up) {
      t.comment(s.log.slice(-20).join('\n'));
    }
    t.equal(await probe(`${s.base}/readyz`), 200, `${label}: /readyz is 200`);
    return s;
  };
  let load: WriteLoad | undefined;
  const rounds: Array<{ acknowledged: number }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    server = await start(round === 1 ? 'first start' : `start after kill ${round - 1}`);
    if (!server.alive) {
      return;
    }
    const token = await adminToken(server.base, dataDir);
    if (load) {
      const { lost, partial } = await verify(server.base, token, load);
      t.same(lost, [], `after kill ${round - 1}: every acknowledged write is there (${load.acknowledged.size} resources)`);
      t.same(partial, [], `after kill ${round - 1}: no transaction stored in part`);
    }
    const previous = load;
    load = new WriteLoad(server.base, token);
    if (previous) {
      // One load across the rounds: what was acknowledged before must stay.
      previous.acknowledged.forEach((v, k) => load?.acknowledged.set(k, v));
      previous.transactions.forEach((v, k) => load?.transactions.set(k, v));
    }
    const before = load.acknowledgedWrites;
    // Mid-load: once the writers are well under way (or after 15 s on a slow machine), at a
    // random moment, so that the kill lands inside requests of every kind.
    const since = Date.now();
    while (load.acknowledgedWrites - before < 60 && Date.now() - since < 15_000) {
      await sleep(100);
    }
    await sleep(Math.random() * 500);
    await server.kill('SIGKILL');
    await load.stop();
    rounds.push({ acknowledged: load.acknowledgedWrites - before });
    t.ok(load.acknowledgedWrites - before > 0, `round ${round}: ${load.acknowledgedWrites - before} writes acknowledged before SIGKILL`);
  }
  server = await start(`start after kill ${ROUNDS}`);
  if (!server.alive || !load) {
    return;
  }
  const token = await adminToken(server.base, dataDir);
  const { lost, partial, whole } = await verify(server.base, token, load);
  const acknowledged = rounds.reduce((sum, r) => sum + r.acknowledged, 0);
  t.same(lost, [], `every acknowledged write survived ${ROUNDS} kills: ${acknowledged} writes on ${load.acknowledged.size} resources, lost ${lost.length}`);
  t.same(partial, [], `every transaction is whole or absent (${whole} whole of ${load.transactions.size} sent)`);
  t.ok(whole > 0, 'transactions were acknowledged too');
  t.same(load.refused, [], 'every answered write succeeded (none 4xx or 5xx but 412 after a write cut off by a kill)');
  t.comment(`${engine}: rounds ${ROUNDS}, acknowledged writes per round ${rounds.map((r) => r.acknowledged).join('/')}, lost ${lost.length}, ${Math.round((Date.now() - started) / 1000)} s`);
  await server.stop();
  t.equal(server.exit?.code, 0, 'and stops cleanly');
});
