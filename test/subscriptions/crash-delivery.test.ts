/**
 * kill -9 of the node that is delivering a Subscription's notifications: two real server processes
 * (src/server.ts) on one PostgreSQL database, a receiver that answers slowly, and writes before,
 * during and after the kill. No event is lost: every event number 1..N reaches the receiver, in
 * order, and the only duplicates are the events of the notification in flight at the kill, sent
 * again by the other node once the dead node's lease ran out (subscriptions/subscription-engine.ts).
 *
 * PostgreSQL only: a PGlite data folder can be opened by one process at a time.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { eventNumbers, statusParameter, type Notification } from '../helpers/rest-hook-receiver.js';
import { adminToken, freePort, ServerProcess, serverDatabase, sleep } from '../helpers/server-process.js';

const BEFORE_KILL = 200;
const AFTER_KILL = 100;
const PER_TRANSACTION = 5;
/** The receiver's time to answer: long enough that the kill lands while a notification is in flight. */
const ANSWER_MS = 100;
/** The notification during which the delivering node is killed. */
const KILL_AT = 4;
// backport-timeout 1 s: the lease of a node that dies while delivering runs out after 2 s.
const SETTINGS = { EVENT_POLL_MS: '200', SUBSCRIPTION_RETRY_MS: '100', SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS: 'true' };
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

interface Delivery {
  /** The port of the node that sent it: its notification's references carry its base URL. */
  readonly sender: number;
  readonly numbers: number[];
  /** The resource ids the notification names (id-only payload). */
  readonly ids: string[];
}

/** A rest-hook receiver that records each notification as it arrives and answers after ANSWER_MS. */
async function slowReceiver(t: Test, onNotification: (delivery: Delivery, index: number) => void): Promise<{ url: string; deliveries: Delivery[]; handshakes: () => number }> {
  const deliveries: Delivery[] = [];
  let handshakes = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A sender killed mid-request leaves a half-sent body: nothing was delivered.
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification;
      const type = statusParameter(body, 'type')?.valueCode;
      if (type === 'handshake') {
        handshakes += 1;
      } else if (type === 'event-notification') {
        const reference = statusParameter(body, 'subscription')?.valueReference?.reference ?? '';
        const delivery: Delivery = {
          sender: Number(new URL(reference).port),
          numbers: eventNumbers(body).map(Number),
          ids: body.entry.slice(1).flatMap((e) => (e.fullUrl === undefined ? [] : [e.fullUrl.split('/').at(-1) ?? ''])),
        };
        deliveries.push(delivery);
        onNotification(delivery, deliveries.length);
      }
      setTimeout(() => response.writeHead(200).end(), ANSWER_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/crash`, deliveries, handshakes: () => handshakes };
}

interface Node {
  readonly server: ServerProcess;
  readonly port: number;
  readonly token: string;
}

async function send(node: Node, method: string, path: string, body: unknown): Promise<Response | undefined> {
  try {
    return await fetch(`${node.server.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    return undefined;
  }
}

/** Writes `count` DetectedIssues with `code` in transactions, round robin over the living nodes; the ids acknowledged. */
async function writeIssues(nodes: readonly Node[], code: string, count: number, acknowledged: Set<string>): Promise<void> {
  for (let written = 0, turn = 0; written < count; turn++) {
    const alive = nodes.filter((n) => n.server.alive);
    const node = alive[turn % alive.length];
    if (node === undefined) {
      throw new Error('no node left');
    }
    const entry = Array.from({ length: PER_TRANSACTION }, () => ({
      resource: { resourceType: 'DetectedIssue', status: 'final', code: { coding: [{ system: 'urn:test:crash-delivery', code }] } },
      request: { method: 'POST', url: 'DetectedIssue' },
    }));
    const response = await send(node, 'POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
    const bundle = response?.status === 200 ? ((await response.json().catch(() => undefined)) as { entry?: Array<{ resource?: { id?: string } }> } | undefined) : undefined;
    for (const e of bundle?.entry ?? []) {
      if (e.resource?.id !== undefined) {
        acknowledged.add(e.resource.id);
      }
    }
    // A transaction cut off by the kill may or may not have committed: the database says which.
    written += bundle === undefined ? 0 : PER_TRANSACTION;
  }
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) {
      return true;
    }
    await sleep(50);
  }
  return condition();
}

if (!process.env['DATABASE_URL']) {
  t.plan(0, 'two server processes cannot share a PGlite data folder; this runs on PostgreSQL only (DATABASE_URL)');
} else {
  t.test('kill -9 of the delivering node loses no event', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'schakel-crash-delivery-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const database = await serverDatabase(dataDir);
    t.teardown(() => database.destroy());
    const nodes: Node[] = [];
    t.teardown(() => Promise.all(nodes.map((n) => n.server.stop())));
    // One after the other: the first writes the demo keys both use.
    for (let n = 0; n < 2; n++) {
      const port = await freePort();
      const server = new ServerProcess(port, { ...database.env, ...SETTINGS });
      nodes.push({ server, port, token: '' });
      t.ok(await server.listening(240_000), `node ${n + 1} serves`);
      // A token names the node that issued it (its audience): one per node.
      nodes[n] = { server, port, token: await adminToken(server.base, dataDir) };
    }
    const [a, b] = nodes as [Node, Node];

    let killed: { node: Node; inFlight: Delivery; at: number } | undefined;
    const receiver = await slowReceiver(t, (delivery, index) => {
      if (index === KILL_AT && killed === undefined) {
        // The sender waits for this notification's answer: kill it now, before it can mark it delivered.
        const node = nodes.find((n) => n.port === delivery.sender);
        if (node !== undefined) {
          killed = { node, inFlight: delivery, at: Date.now() };
          node.server.signal('SIGKILL');
        }
      }
    });

    const code = `crash-${randomUUID()}`;
    const created = await send(a, 'POST', '/fhir/Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'crash delivery',
      criteria: `DetectedIssue?code=${code}`,
      channel: {
        type: 'rest-hook',
        endpoint: receiver.url,
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] },
        extension: [{ url: `${BACKPORT}/backport-timeout`, valueUnsignedInt: 1 }],
      },
    });
    t.equal(created?.status, 201, 'the Subscription is created');
    const subscriptionId = ((await created?.json()) as { id: string }).id;
    t.ok(await until(() => receiver.handshakes() > 0, 15_000), 'the handshake arrives');

    const acknowledged = new Set<string>();
    const started = Date.now();
    await writeIssues(nodes, code, BEFORE_KILL, acknowledged);
    t.ok(await until(() => killed !== undefined, 20_000), `a node was killed while notification ${KILL_AT} was in flight`);
    if (killed === undefined) {
      return;
    }
    await killed.node.server.waitForExit(5_000);
    t.equal(killed.node.server.exit?.signal, 'SIGKILL', 'the delivering node died of SIGKILL');
    const survivor = killed.node === a ? b : a;
    t.ok(survivor.server.alive, 'the other node lives');
    await writeIssues([survivor], code, AFTER_KILL, acknowledged);

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    t.teardown(() => sql.end());
    const issues = async (): Promise<string[]> =>
      (await sql.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'DetectedIssue' AND NOT deleted`)).rows.map((r) => r.id);
    const numbered = async (): Promise<number> =>
      Number((await sql.query<{ n: string }>('SELECT events_since_start AS n FROM subscription_delivery WHERE subscription_id = $1', [subscriptionId])).rows[0]?.n ?? 0);
    const received = (): Set<number> => new Set(receiver.deliveries.flatMap((d) => d.numbers));

    // Every stored DetectedIssue numbered for the Subscription, and every number received.
    const stored = await issues();
    t.ok(await until(async () => (await numbered()) >= stored.length, 20_000), 'every stored event is numbered for the Subscription');
    const total = await numbered();
    t.equal(total, stored.length, `${total} events numbered, one per stored DetectedIssue`);
    t.ok(await until(() => received().size >= total, 30_000), 'every number reaches the receiver');
    // Time for a stray duplicate to arrive, were any node to send one.
    await sleep(500);
    t.comment(`${acknowledged.size} writes acknowledged, ${total} stored, ${receiver.deliveries.length} notifications in ${Date.now() - started} ms`);

    const arrivals = receiver.deliveries.flatMap((d) => d.numbers);
    t.same([...received()].sort((x, y) => x - y), Array.from({ length: total }, (_, i) => i + 1), 'every event number 1..N arrived');
    const receivedIds = new Set(receiver.deliveries.flatMap((d) => d.ids));
    t.same(stored.filter((id) => !receivedIds.has(id)), [], 'every stored DetectedIssue was named in a notification');
    t.same([...acknowledged].filter((id) => !stored.includes(id)), [], 'every acknowledged write is stored');

    // In order, with one rewind at most: back to the first number of the notification in flight.
    const rewinds = arrivals.flatMap((n, i) => (i > 0 && n !== (arrivals[i - 1] ?? 0) + 1 ? [{ at: i, to: n }] : []));
    const inFlight = killed.inFlight.numbers;
    t.ok(arrivals[0] === 1 && rewinds.length <= 1, `in order, at most one rewind (${JSON.stringify(rewinds)})`);
    const counts = new Map<number, number>();
    arrivals.forEach((n) => counts.set(n, (counts.get(n) ?? 0) + 1));
    const duplicates = [...counts].filter(([, c]) => c > 1).map(([n]) => n).sort((x, y) => x - y);
    t.ok([...counts.values()].every((c) => c <= 2), 'no event arrived more than twice');
    t.same(duplicates, inFlight, `the duplicates are exactly the notification in flight at the kill (${inFlight[0]}..${inFlight.at(-1)})`);
    t.ok(inFlight.length > 0 && inFlight.length <= 20, 'at most one batch');
    t.same(rewinds.map((r) => r.to), duplicates.length > 0 ? [inFlight[0]] : [], 'the rewind goes back to the notification in flight');
    const after = receiver.deliveries.slice(KILL_AT);
    t.ok(after.length > 0 && after.every((d) => d.sender === survivor.port), 'after the kill, the other node delivers');
  });
}
