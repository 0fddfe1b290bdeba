/** A real rest-hook receiver for the subscription tests: node:http on 127.0.0.1, port 0. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Notification;
}

export interface Notification {
  resourceType: string;
  type: string;
  entry: Array<{ fullUrl?: string; resource?: { resourceType: string; parameter?: Parameter[] }; request?: { method: string; url: string } }>;
}

interface Parameter {
  name: string;
  valueCode?: string;
  valueCanonical?: string;
  valueString?: string;
  valueReference?: { reference: string };
  part?: Parameter[];
}

export interface Receiver {
  /** Base URL; each test posts to its own path under it. */
  readonly url: string;
  readonly received: Received[];
  /** Answers this status on paths starting with `prefix` (200 otherwise). */
  answer(prefix: string, status: number): void;
  /** Stops accepting connections: the receiver is down. */
  close(): Promise<void>;
  on(path: string): Received[];
}

export async function startReceiver(t: Test): Promise<Receiver> {
  const received: Received[] = [];
  const answers = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ path, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification });
      const status = [...answers].find(([prefix]) => path.startsWith(prefix))?.[1] ?? 200;
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
  t.teardown(close);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (prefix, status) => answers.set(prefix, status),
    close,
    on: (path) => received.filter((r) => r.path === path),
  };
}

/** The SubscriptionStatus parameter `name` of a notification (first entry). */
export function statusParameter(body: Notification, name: string): Parameter | undefined {
  return body.entry[0]?.resource?.parameter?.find((p) => p.name === name);
}

export function eventNumbers(body: Notification): string[] {
  return (body.entry[0]?.resource?.parameter ?? [])
    .filter((p) => p.name === 'notification-event')
    .map((p) => p.part?.find((q) => q.name === 'event-number')?.valueString ?? '');
}
