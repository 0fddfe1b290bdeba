/**
 * Load shedding through a real server process: 600 concurrent heavy searches (_include,
 * _revinclude, a chain, _count=1000) must degrade the searches (503 with Retry-After and an
 * OperationOutcome), never the node: /healthz keeps answering in milliseconds meanwhile. The
 * server runs in its own process, as in production, so that what the probe measures is the
 * server's answer and not the load generator's own work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { engine } from '../helpers/app.js';
import { adminToken, freePort, ServerProcess, serverDatabase } from '../helpers/server-process.js';

const PATIENTS = 300;
const OBSERVATIONS_PER_PATIENT = 2;
const HEAVY = 600;
/**
 * The p99 bound of /healthz during the burst. Before load shedding it was 8.8 to 134 s. The
 * target, 100 ms, is measured on an idle machine (`OVERLOAD_TEST_HEALTHZ_P99_MS=100 npx tap
 * test/http/overload.test.ts`; figures in docs/configuration.md); in the suite, where other test
 * files share the two cores, the bound is 1 s, which still fails at once if the health check
 * waits behind the searches again.
 */
const HEALTHZ_P99_MS = Number(process.env['OVERLOAD_TEST_HEALTHZ_P99_MS'] ?? '1000');
/**
 * The same bound for /healthz on HEALTH_PORT, answered by a worker thread
 * (src/http/health-listener.ts) and probed from a process of its own, as a load balancer would.
 * The 100 ms target is the in-suite bound too: nothing the main loop does delays it.
 */
const HEALTH_PORT_P99_MS = Number(process.env['OVERLOAD_TEST_HEALTH_PORT_P99_MS'] ?? '100');

/**
 * Probes `url` every 10 ms from a child process until its stdin closes, then prints the latencies:
 * the measurement is then free of this process's event loop, which reads 600 large responses.
 */
function probeProcess(url: string): { done: () => Promise<{ ms: number[]; failures: string[] }> } {
  const script = `
const { get, Agent } = require('node:http');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const ms = [], failures = [];
let open = true;
process.stdin.on('end', () => { open = false; });
process.stdin.resume();
const once = () => new Promise((resolve) => {
  const started = performance.now();
  const req = get(${JSON.stringify(url)}, { agent }, (res) => {
    res.resume();
    res.on('end', () => { ms.push(performance.now() - started); if (res.statusCode !== 200) failures.push(String(res.statusCode)); resolve(); });
  });
  req.on('error', (e) => { failures.push(e.message); resolve(); });
});
(async () => {
  while (open || ms.length < 20) { await once(); await new Promise((r) => setTimeout(r, 10)); }
  process.stdout.write(JSON.stringify({ ms, failures }));
  agent.destroy();
})();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async done() {
      child.stdin.end();
      await exited;
      return JSON.parse(out) as { ms: number[]; failures: string[] };
    },
  };
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
  readonly ms: number;
}

/** One GET on its own connection; the body is kept only when it is small (outcomes). */
function get(agent: Agent, url: string, authorization?: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers: authorization ? { authorization } : {} }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size < 64 * 1024) {
          chunks.push(chunk);
        }
      });
      res.on('end', () => {
        const header = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: typeof header === 'string' ? header : undefined,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

t.test(`600 concurrent heavy searches are shed while /healthz stays fast on ${engine}`, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'schakel-overload-'));
  const database = await serverDatabase(dataDir);
  // The documented defaults of the shedding settings apply (docs/configuration.md).
  const healthPort = await freePort();
  const server = new ServerProcess(await freePort(), { ...database.env, HEALTH_PORT: String(healthPort) });
  t.teardown(async () => {
    await server.stop(5000);
    await database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (!(await server.listening(180_000))) {
    t.fail(`the server did not start: ${server.log.slice(-10).join('\n')}`);
    return;
  }
  const address = server.base;
  const authorization = `Bearer ${await adminToken(address, dataDir)}`;
  const request = async (options: { method: 'GET' | 'POST'; url: string; body?: unknown }): Promise<{ statusCode: number }> => {
    const response = await fetch(`${address}${options.url}`, {
      method: options.method,
      headers: { authorization, ...(options.body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    await response.arrayBuffer();
    return { statusCode: response.status };
  };
  const patients = Array.from({ length: PATIENTS }, (_, i) => ({
    resource: { resourceType: 'Patient', id: `ovl-p${i}`, active: true, name: [{ family: 'Overload', given: [`P${i}`] }] },
    request: { method: 'PUT', url: `Patient/ovl-p${i}` },
  }));
  const observations = Array.from({ length: PATIENTS * OBSERVATIONS_PER_PATIENT }, (_, i) => ({
    resource: {
      resourceType: 'Observation',
      id: `ovl-o${i}`,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Heart rate' },
      subject: { reference: `Patient/ovl-p${i % PATIENTS}` },
      valueQuantity: { value: 60 + (i % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      note: [{ text: 'x'.repeat(400) }],
    },
    request: { method: 'PUT', url: `Observation/ovl-o${i}` },
  }));
  for (const part of [patients, observations.slice(0, PATIENTS), observations.slice(PATIENTS)]) {
    // Seeding blocks the event loop for seconds on PGlite: the shedding may refuse the next
    // request until its next sample, as it should; wait and send again.
    let seeded = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry: part } });
    for (let attempt = 0; seeded.statusCode === 503 && attempt < 10; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      seeded = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry: part } });
    }
    t.equal(seeded.statusCode, 200, 'seed transaction');
  }
  // Let the event-loop sample that saw the seeding pass before the burst starts.
  for (let attempt = 0; attempt < 20 && (await request({ method: 'GET', url: '/fhir/Patient?_count=1' })).statusCode === 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const heavyUrls = [
    '/fhir/Observation?_count=1000&_include=Observation:subject',
    '/fhir/Patient?_count=1000&_revinclude=Observation:subject',
    '/fhir/Observation?subject.name=Overload&_count=1000&_include=Observation:subject',
    '/fhir/Patient?_count=1000&_revinclude=Observation:subject&_total=accurate',
  ];
  const heavyAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => {
    heavyAgent.destroy();
    probeAgent.destroy();
  });

  // A node in service has run its searches before: the first run of each code path (compiling,
  // loading schemas) is not what this test measures.
  for (const url of heavyUrls) {
    t.equal((await get(heavyAgent, `${address}${url}`, authorization)).status, 200, 'warm-up search');
  }
  // The probe's connection is open before the burst, as a load balancer's would be.
  t.equal((await get(probeAgent, `${address}/healthz`)).status, 200);
  let rssPeak = server.rss();
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, server.rss());
  }, 100);
  const healthPortProbe = probeProcess(`http://127.0.0.1:${healthPort}/healthz`);
  const started = performance.now();
  // A bounded test: whatever is still open after 90 s is cut off, and counted as failed.
  const cutOff = setTimeout(() => heavyAgent.destroy(), 90_000);
  let done = false;
  const heavy = Promise.allSettled(
    Array.from({ length: HEAVY }, (_, i) => get(heavyAgent, `${address}${heavyUrls[i % heavyUrls.length]}`, authorization))
  ).finally(() => {
    done = true;
  });
  const probes: number[] = [];
  const probeFailures: string[] = [];
  while (!done || probes.length < 20) {
    try {
      const probe = await get(probeAgent, `${address}/healthz`);
      probes.push(probe.ms);
      if (probe.status !== 200) {
        probeFailures.push(String(probe.status));
      }
    } catch (error) {
      probeFailures.push(error instanceof Error ? error.message : String(error));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const answers = await heavy;
  const wallMs = performance.now() - started;
  const healthPortProbes = await healthPortProbe.done();
  clearInterval(sampler);
  clearTimeout(cutOff);

  const resets = answers.filter((a) => a.status === 'rejected').map((a) => String((a).reason));
  const fulfilled = answers.filter((a): a is PromiseFulfilledResult<Answer> => a.status === 'fulfilled').map((a) => a.value);
  const byStatus = new Map<number, number>();
  for (const a of fulfilled) {
    byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  }
  const shed = fulfilled.filter((a) => a.status === 503);
  const badShed = shed.filter((a) => {
    if (a.retryAfter === undefined || !/^\d+$/.test(a.retryAfter)) {
      return true;
    }
    const body = JSON.parse(a.body) as { resourceType?: string; issue?: Array<{ code?: string }> };
    return body.resourceType !== 'OperationOutcome' || !['transient', 'throttled', 'too-costly'].includes(body.issue?.[0]?.code ?? '');
  });
  const heavyP99 = percentile(fulfilled.map((a) => a.ms), 99);
  const healthP99 = percentile(probes, 99);
  const healthPortP99 = percentile(healthPortProbes.ms, 99);
  t.comment(
    `${engine}: HEALTH_PORT /healthz probed from its own process: ${healthPortProbes.ms.length} probes, p50 ${percentile(healthPortProbes.ms, 50).toFixed(1)} ms, ` +
      `p99 ${healthPortP99.toFixed(1)} ms, max ${Math.max(...healthPortProbes.ms).toFixed(1)} ms`
  );
  t.comment(
    `${engine}: ${HEAVY} heavy searches in ${Math.round(wallMs)} ms; statuses ${JSON.stringify([...byStatus])}; ` +
      `heavy p99 ${Math.round(heavyP99)} ms; healthz probes ${probes.length}, p99 ${healthP99.toFixed(1)} ms, max ${Math.max(...probes).toFixed(1)} ms; ` +
      `rss peak ${Math.round(rssPeak / 1048576)} MB`
  );

  t.same(resets, [], 'no connection resets or failed requests');
  t.same(probeFailures, [], 'every /healthz probe answered 200');
  t.ok(healthP99 < HEALTHZ_P99_MS, `/healthz p99 under ${HEALTHZ_P99_MS} ms (was ${healthP99.toFixed(1)} ms)`);
  t.same(healthPortProbes.failures, [], 'every /healthz probe on HEALTH_PORT answered 200');
  t.ok(healthPortP99 < HEALTH_PORT_P99_MS, `/healthz on HEALTH_PORT p99 under ${HEALTH_PORT_P99_MS} ms (was ${healthPortP99.toFixed(1)} ms)`);
  t.ok((byStatus.get(200) ?? 0) > 0, 'some heavy searches succeeded');
  t.same(
    fulfilled.filter((a) => a.status >= 500 && a.status !== 503).map((a) => a.status),
    [],
    'no 5xx but 503'
  );
  t.equal(badShed.length, 0, 'every 503 carries Retry-After and an OperationOutcome (transient, throttled or too-costly)');
  t.ok(wallMs < 90_000, `the burst is over within 90 s (took ${Math.round(wallMs)} ms)`);
});
