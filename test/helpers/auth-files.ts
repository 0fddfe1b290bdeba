/**
 * Tests of the operator's key and clients files: the app built on the auth setup the server loads
 * (auth/setup.ts, from AUTH_SIGNING_KEY_FILE and AUTH_CLIENTS_FILE), and the scripts run as an
 * operator runs them (`npm run keys`, `npm run clients`).
 */
import { execFile } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadAuthSetup } from '../../src/auth/setup.js';
import { testConfig } from './app.js';
import { createTestDatabase } from './database.js';
import { ownEnvironment, ROOT, sleep } from './server-process.js';

export interface FileAuthApp {
  readonly app: FastifyInstance;
  /** Every JSON log line of the app. */
  readonly logs: string[];
}

export async function fileAuthApp(t: Test, env: Record<string, string>): Promise<FileAuthApp> {
  const database = await createTestDatabase();
  const config = testConfig({ LOG_LEVEL: 'info', ...env });
  const logs: string[] = [];
  const app = await buildApp({ config, db: database.db, closeDatabase: false, auth: await loadAuthSetup(config), logStream: { write: (line) => logs.push(line) } });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  return { app, logs };
}

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs scripts/<name>.ts with tsx, as `npm run <name> -- …` does. */
export function runScript(name: string, args: readonly string[], env: Record<string, string> = {}): Promise<ScriptResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { cwd: ROOT, env: { ...ownEnvironment(), ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Polls `check` until it holds or `timeoutMs` passes; answers whether it held. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 8000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) {
      return true;
    }
    await sleep(100);
  }
  return check();
}
