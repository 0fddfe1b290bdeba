/**
 * The real server process (src/server.ts) for tests of what only a process shows: signals, exit
 * codes, sockets and the filesystem. Configured through its environment, with its own DATA_DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';
import type { DemoAuthFile } from '../../src/auth/demo-clients.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token-endpoint.js';
import { createPostgresCopy, pgliteTemplate } from './database.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The losing side of a race with the process's exit: a timer that does not keep the test
 * process alive. A plain `sleep(60_000)` that lost the race would hold the test file open for the
 * rest of its minute after its last test (the child process itself keeps the loop alive while
 * it runs, so the timer still fires when it is needed).
 */
const deadline = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** This process's environment without the test runner's hooks (NODE_OPTIONS, TAP_*) and database. */
export function ownEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(NODE_OPTIONS|TAP|_TAPJS|DATABASE_)/.test(e[0]))
  );
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** When the process exited (Date.now()). */
  readonly at: number;
}

/** src/server.ts in a child process; stdout and stderr collected as lines. */
export class ServerProcess {
  readonly base: string;
  readonly log: string[] = [];
  exit: Exit | undefined;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  /** `preload`: more `--import` modules, such as ./src/tracing/register.ts as `npm start` loads it. */
  constructor(port: number, env: Record<string, string>, preload: readonly string[] = []) {
    this.base = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), 'src/server.ts'], {
      cwd: ROOT,
      env: { ...ownEnvironment(), HOST: '127.0.0.1', PORT: String(port), SEED_FIXTURES: 'false', LOG_LEVEL: 'warn', AUTH_TOKEN_LIFETIME: '3600', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer): void => {
      this.log.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * Waits until the server has started: it listens at once, but /healthz says `starting` until
   * the app serves (http/startup-gate.ts).
   */
  async listening(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && this.alive) {
      if ((await health(this.base)) === 'ok') {
        return true;
      }
      await sleep(200);
    }
    return false;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, deadline(graceMs)]);
    }
    if (this.alive) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** The process's resident memory in bytes (Linux /proc), 0 once it has exited. */
  rss(): number {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid ?? 0}/status`, 'utf8'))?.[1];
      return kb === undefined ? 0 : Number(kb) * 1024;
    } catch {
      return 0;
    }
  }

  /** Ends the process at once with `signal` (SIGKILL: a crash, no shutdown code runs). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.alive) {
      this.child.kill(signal);
      await this.exited;
    }
  }

  waitForExit(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.exited.then(() => true), deadline(timeoutMs).then(() => false)]);
  }
}

/** The `status` /healthz reports (`starting`, `ok`), undefined without a 200 answer. */
export async function health(base: string, timeoutMs = 10_000): Promise<string | undefined> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { status?: unknown };
    return response.status === 200 && typeof body.status === 'string' ? body.status : undefined;
  } catch {
    return undefined;
  }
}

/** The status of a GET, 0 when there is no HTTP answer within `timeoutMs`. */
export async function probe(url: string, timeoutMs = 10_000): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** An access token of the demo integration engine (system/*.cruds), as `npm run token` gets one. */
export async function adminToken(base: string, dataDir: string): Promise<string> {
  const demo = JSON.parse(readFileSync(join(dataDir, 'demo-auth.json'), 'utf8')) as DemoAuthFile;
  const client = demo.clients.find((c) => c.registration.clientId === 'admin');
  if (!client) {
    throw new Error('no admin demo client');
  }
  const jwk = client.privateJwk;
  const alg = jwk.alg ?? 'ES384';
  const tokenUrl = `${base}/auth/token`;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ iss: 'admin', sub: 'admin', aud: tokenUrl, iat: now, exp: now + 240, jti: randomUUID() })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .sign(await importJWK(jwk, alg));
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, scope: 'system/*.cruds' });
  const response = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) {
    throw new Error(`no token: ${response.status}`);
  }
  return body.access_token;
}

export interface ServerDatabase {
  /** DATABASE_URL and DATA_DIR for the server process. */
  readonly env: Record<string, string>;
  readonly dataDir: string;
  /** The PostgreSQL database's URL (PostgreSQL pass only). */
  readonly url: string | undefined;
  destroy(): Promise<void>;
}

/**
 * A private, migrated database for a server process on the engine the environment selects: a
 * fresh PostgreSQL database when DATABASE_URL is set, else a copy of the PGlite template in
 * `dataDir` (which may be a mount point the test made).
 */
export async function serverDatabase(dataDir: string): Promise<ServerDatabase> {
  const adminUrl = process.env['DATABASE_URL'];
  if (!adminUrl) {
    cpSync(await pgliteTemplate(), dataDir, { recursive: true });
    return { env: { DATA_DIR: dataDir }, dataDir, url: undefined, destroy: async () => undefined };
  }
  const { name, url } = await createPostgresCopy(adminUrl);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url },
    dataDir,
    url,
    async destroy() {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
