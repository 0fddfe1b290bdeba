/**
 * The real server process (src/server.ts) for fault tests: spawned with its configuration in the
 * environment, probed over HTTP, and given an access token of the demo admin client the way
 * `npm run token` gets one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import type { DemoAuthFile } from '../../src/auth/demo-clients.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token-endpoint.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

/** The real server process (src/server.ts), configured through its environment. */
export class Schakel {
  readonly base: string;
  readonly log: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(port: number, env: Record<string, string>) {
    this.base = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
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
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Waits until /healthz answers (the server listens only once its database is open). */
  async listening(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && this.alive) {
      if ((await probe(`${this.base}/healthz`)) === 200) {
        return true;
      }
      await sleep(200);
    }
    return false;
  }

  async stop(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(15_000)]);
    }
    if (this.alive) {
      this.child.kill('SIGKILL');
      await this.exited;
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
    return Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
  }
}

export async function probe(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
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
