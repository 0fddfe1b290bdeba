/**
 * Notification benchmark (docs/subscriptions.md): the server listens on 127.0.0.1 in this process,
 * a node:http receiver on 127.0.0.1 records when each notification arrives, and the load is real
 * HTTP from the same process (keep-alive fetch).
 *
 * 1. Latency: 10 active id-only Subscriptions on `Task?owner=Organization/{A}`; Tasks owned by A
 *    are created at a steady rate (default 100/s). For each write the 201's arrival is taken as its
 *    commit time (an upper bound: the commit happened before the answer left), and for each of the
 *    10 Subscriptions the arrival of the notification naming that Task. Reported: p50/p99/max of
 *    arrival minus commit, over every (write, Subscription) pair, and how many never arrived.
 * 2. Throughput: `--concurrency` clients (default 16) create Tasks for `--seconds`, once with no
 *    Subscription and once with 100 active ones of mixed criteria (5 match the writes, the others
 *    name other owners, other statuses, other resource types or a topic), each on a fresh database.
 *    Reported: writes/s, the process's CPU ms per write, and the ratio with / without.
 *
 * Each case runs `--rounds` times (the machine is shared: report the spread). Runs on PGlite and,
 * when DATABASE_URL is set, on a scratch database of that PostgreSQL server.
 *
 *   npm run bench -- notifications [--seconds 20] [--rate 100] [--concurrency 16] [--rounds 2] [--engine pglite|postgres]
 *
 * A benchmark, not a test: the numbers depend on the machine; compare runs on the same one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import type { EngineName } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { benchAuth, benchToken } from './bench-auth.js';

export interface NotificationBenchOptions {
  /** Seconds of load per case. */
  readonly seconds: number;
  /** Writes per second in the latency case. */
  readonly rate: number;
  /** Clients creating at once in the throughput cases. */
  readonly concurrency: number;
  /** Repeats of every case. */
  readonly rounds: number;
  readonly engines: readonly EngineName[];
  /** One of the two parts only (both when absent). */
  readonly only?: 'latency' | 'throughput';
}

type App = Awaited<ReturnType<typeof buildApp>>;

const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
const FILTER_CRITERIA = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
const TOPIC = 'http://schakel.nl/fhir/SubscriptionTopic/referral-task-owner';

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (x: number): number => Math.round(x * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Records, per receiver path, when the notification naming each Task first arrived. */
interface Receiver {
  readonly url: string;
  /** path -> Task id -> arrival (performance.now()). */
  readonly arrivals: Map<string, Map<string, number>>;
  handshakes: number;
  close(): Promise<void>;
}

interface NotificationBody {
  entry?: Array<{ fullUrl?: string; resource?: { resourceType?: string; parameter?: Array<{ name: string; valueCode?: string }> } }>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, Map<string, number>>();
  const receiver: Receiver = { url: '', arrivals, handshakes: 0, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const path = request.url ?? '/';
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as NotificationBody;
      const type = body.entry?.[0]?.resource?.parameter?.find((p) => p.name === 'type')?.valueCode;
      if (type === 'handshake') {
        receiver.handshakes++;
      }
      let seen = arrivals.get(path);
      if (seen === undefined) {
        seen = new Map();
        arrivals.set(path, seen);
      }
      for (const entry of body.entry?.slice(1) ?? []) {
        const id = /\/Task\/([^/]+)/.exec(entry.fullUrl ?? '')?.[1];
        if (id !== undefined && !seen.has(id)) {
          seen.set(id, at);
        }
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** A listening server on a fresh database of `engine`. */
async function startServer(engine: EngineName): Promise<{ app: App; base: string; token: string; stop: () => Promise<void> }> {
  const scratch = await createScratchDatabase(engine);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    SEED_FIXTURES: 'false',
    DATA_DIR: 'memory://',
    SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS: 'true',
    // The server's own setting when given, so its effect can be measured.
    ...(process.env['SUBSCRIPTION_MATCH_INTERVAL_MS'] !== undefined ? { SUBSCRIPTION_MATCH_INTERVAL_MS: process.env['SUBSCRIPTION_MATCH_INTERVAL_MS'] } : {}),
  });
  const app = await buildApp({ config, db: scratch.db, closeDatabase: false, auth: await benchAuth() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    base: `http://127.0.0.1:${port}/fhir`,
    token: await benchToken(app),
    stop: async () => {
      await app.close();
      await scratch.destroy();
    },
  };
}

async function post(base: string, token: string, resource: { resourceType: string } & Record<string, unknown>): Promise<string> {
  const response = await fetch(`${base}/${resource.resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: token },
    body: JSON.stringify(resource),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST ${resource.resourceType}: HTTP ${response.status} ${text.slice(0, 300)}`);
  }
  return (JSON.parse(text) as { id: string }).id;
}

const task = (owner: string): { resourceType: string } & Record<string, unknown> => ({
  resourceType: 'Task',
  status: 'requested',
  intent: 'order',
  owner: { reference: `Organization/${owner}` },
});

function subscription(criteria: string, endpoint: string, filter?: string): { resourceType: string } & Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'notification bench',
    criteria,
    ...(filter !== undefined ? { _criteria: { extension: [{ url: FILTER_CRITERIA, valueString: filter }] } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'id-only' }] },
    },
  };
}

/** Creates the Subscriptions and waits until the receiver accepted every handshake. */
async function subscribe(base: string, token: string, receiver: Receiver, list: ReadonlyArray<{ resourceType: string } & Record<string, unknown>>): Promise<void> {
  const before = receiver.handshakes;
  for (const s of list) {
    await post(base, token, s);
  }
  const deadline = Date.now() + 60_000;
  while (receiver.handshakes - before < list.length) {
    if (Date.now() > deadline) {
      throw new Error(`only ${receiver.handshakes - before} of ${list.length} handshakes arrived`);
    }
    await sleep(50);
  }
  // The status writes that follow the handshakes are events of their own: let them pass.
  await sleep(500);
}

interface LatencyResult {
  engine: string;
  round: number;
  writes: number;
  refused: number;
  rate_per_s: number;
  notifications: number;
  missing: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

async function latencyCase(engine: EngineName, roundNo: number, options: NotificationBenchOptions): Promise<LatencyResult> {
  const server = await startServer(engine);
  const receiver = await startReceiver();
  try {
    const { base, token } = server;
    const owner = await post(base, token, { resourceType: 'Organization', name: 'Bench ontvanger' });
    const paths = Array.from({ length: 10 }, (_, i) => `/latency-${i}`);
    await subscribe(base, token, receiver, paths.map((p) => subscription(`Task?owner=Organization/${owner}`, `${receiver.url}${p}`)));

    const commits = new Map<string, number>();
    // A write the server sheds (503 when it cannot keep up with the rate) is counted, not fatal.
    let refused = 0;
    const interval = 1000 / options.rate;
    const total = Math.round(options.seconds * options.rate);
    const started = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let n = 0; n < total; n++) {
      const due = started + n * interval;
      const wait = due - performance.now();
      if (wait > 1) {
        await sleep(wait);
      }
      inFlight.push(
        post(base, token, task(owner)).then(
          (id) => void commits.set(id, performance.now()),
          () => void refused++
        )
      );
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - started) / 1000;

    const expected = commits.size * paths.length;
    const count = (): number => paths.reduce((sum, p) => sum + [...(receiver.arrivals.get(p)?.keys() ?? [])].filter((id) => commits.has(id)).length, 0);
    const deadline = Date.now() + 30_000;
    while (count() < expected && Date.now() < deadline) {
      await sleep(100);
    }
    const latencies: number[] = [];
    for (const p of paths) {
      const seen = receiver.arrivals.get(p);
      for (const [id, committed] of commits) {
        const arrived = seen?.get(id);
        if (arrived !== undefined) {
          latencies.push(arrived - committed);
        }
      }
    }
    latencies.sort((a, b) => a - b);
    return {
      engine,
      round: roundNo,
      writes: commits.size,
      refused,
      rate_per_s: round(commits.size / elapsed),
      notifications: latencies.length,
      missing: expected - latencies.length,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(latencies.at(-1) ?? NaN),
    };
  } finally {
    await receiver.close();
    await server.stop();
  }
}

/** 100 Subscriptions of mixed criteria: 5 match Tasks owned by `owner`, 95 do not. */
function mixedSubscriptions(owner: string, other: string, endpoint: string): Array<{ resourceType: string } & Record<string, unknown>> {
  const list: Array<{ resourceType: string } & Record<string, unknown>> = [];
  for (let i = 0; i < 100; i++) {
    const at = `${endpoint}/mixed-${i}`;
    const kind = i % 20;
    if (kind === 0) {
      list.push(subscription(`Task?owner=Organization/${owner}`, at));
    } else if (kind <= 6) {
      list.push(subscription(`Task?owner=Organization/${other}`, at));
    } else if (kind <= 9) {
      list.push(subscription('Task?status=completed', at));
    } else if (kind <= 13) {
      list.push(subscription(`Observation?code=http://loinc.org|${8000 + i}-0`, at));
    } else if (kind <= 16) {
      list.push(subscription(`Communication?recipient=Organization/${other}`, at));
    } else {
      list.push(subscription(TOPIC, at, `Task?owner=Organization/${other}`));
    }
  }
  return list;
}

interface ThroughputResult {
  engine: string;
  round: number;
  subscriptions: number;
  concurrency: number;
  writes: number;
  writes_per_s: number;
  cpu_ms_per_write: number;
  p50_ms: number;
  p99_ms: number;
}

async function throughputCase(engine: EngineName, roundNo: number, subscriptions: 0 | 100, options: NotificationBenchOptions): Promise<ThroughputResult> {
  const server = await startServer(engine);
  const receiver = await startReceiver();
  try {
    const { base, token } = server;
    const owner = await post(base, token, { resourceType: 'Organization', name: 'Bench eigenaar' });
    const other = await post(base, token, { resourceType: 'Organization', name: 'Bench ander' });
    if (subscriptions > 0) {
      await subscribe(base, token, receiver, mixedSubscriptions(owner, other, receiver.url));
    }
    const load = async (seconds: number, latencies: number[]): Promise<void> => {
      const deadline = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            await post(base, token, task(owner));
            latencies.push(performance.now() - t0);
          }
        })
      );
    };
    // Warm-up, unmeasured: the first writes on a fresh database and app are slower.
    await load(Math.min(3, options.seconds / 4), []);
    const latencies: number[] = [];
    (globalThis as unknown as { qc?: Map<string, number> }).qc?.clear();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await load(options.seconds, latencies);
    const elapsed = (performance.now() - started) / 1000;
    { const g = globalThis as unknown as { qc?: Map<string, number> }; if (g.qc) { let total = 0; for (const v of g.qc.values()) total += v; console.error(`DEBUG subs=${subscriptions} writes=${latencies.length} queries/write=${(total / latencies.length).toFixed(1)}`); for (const [k, v] of [...g.qc.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.error(`DEBUG ${(v / latencies.length).toFixed(2)} ${k}`); g.qc.clear(); } }
    const used = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);
    return {
      engine,
      round: roundNo,
      subscriptions,
      concurrency: options.concurrency,
      writes: latencies.length,
      writes_per_s: round(latencies.length / elapsed),
      cpu_ms_per_write: Math.round(((used.user + used.system) / 1000 / latencies.length) * 100) / 100,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
    };
  } finally {
    await receiver.close();
    await server.stop();
  }
}

const spread = (xs: readonly number[]): string => (xs.length < 2 ? '' : ` (${Math.min(...xs)}..${Math.max(...xs)})`);
const mean = (xs: readonly number[]): number => round(xs.reduce((a, b) => a + b, 0) / xs.length);

/** Runs both parts on every engine; one JSON line per case and round on stdout, a table on stderr. */
export async function notificationBench(options: NotificationBenchOptions): Promise<void> {
  const latency: LatencyResult[] = [];
  const throughput: ThroughputResult[] = [];
  const emit = (r: object): void => void process.stdout.write(`${JSON.stringify(r)}\n`);
  for (const engine of options.engines) {
    for (let r = 1; r <= options.rounds; r++) {
      if (options.only !== 'throughput') {
        console.error(`${engine} round ${r}: latency`);
        const l = await latencyCase(engine, r, options);
        emit({ case: 'latency', ...l });
        latency.push(l);
      }
      if (options.only === 'latency') {
        continue;
      }
      // Alternating order, so a drift of the machine's load does not favour one side.
      for (const n of r % 2 === 1 ? ([0, 100] as const) : ([100, 0] as const)) {
        console.error(`${engine} round ${r}: throughput with ${n} Subscriptions`);
        const t = await throughputCase(engine, r, n, options);
        emit({ case: 'throughput', ...t });
        throughput.push(t);
      }
    }
  }
  if (latency.length > 0) {
    console.error(`\nlatency: 10 Subscriptions on Task?owner=, ${options.rate} writes/s for ${options.seconds} s (201 -> arrival)`);
    console.error('engine    round  writes  refused  writes/s  notified  missing  p50 ms   p99 ms   max ms');
    for (const r of latency) {
      console.error(
        `${r.engine.padEnd(9)} ${String(r.round).padEnd(6)} ${String(r.writes).padEnd(7)} ${String(r.refused).padEnd(8)} ${String(r.rate_per_s).padEnd(9)} ${String(r.notifications).padEnd(9)} ${String(r.missing).padEnd(8)} ${String(r.p50_ms).padEnd(8)} ${String(r.p99_ms).padEnd(8)} ${r.max_ms}`
      );
    }
  }
  if (throughput.length === 0) {
    return;
  }
  console.error(`\nthroughput: ${options.concurrency} clients creating Tasks for ${options.seconds} s`);
  console.error('engine    subs  writes/s (min..max)     cpu ms/write  p50 ms  p99 ms   ratio 100/0');
  for (const engine of options.engines) {
    const of = (n: number): ThroughputResult[] => throughput.filter((t) => t.engine === engine && t.subscriptions === n);
    const none = of(0);
    const hundred = of(100);
    for (const [n, rows] of [
      [0, none],
      [100, hundred],
    ] as const) {
      const wps = rows.map((t) => t.writes_per_s);
      const ratio = n === 100 ? String(Math.round((mean(wps) / mean(none.map((t) => t.writes_per_s))) * 100) / 100) : '';
      console.error(
        `${engine.padEnd(9)} ${String(n).padEnd(5)} ${`${mean(wps)}${spread(wps)}`.padEnd(23)} ${String(mean(rows.map((t) => t.cpu_ms_per_write))).padEnd(13)} ${String(mean(rows.map((t) => t.p50_ms))).padEnd(7)} ${String(mean(rows.map((t) => t.p99_ms))).padEnd(8)} ${ratio}`
      );
    }
  }
}
