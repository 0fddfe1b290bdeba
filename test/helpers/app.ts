/** Builds the real app on a private test database; torn down with the test. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createTestDatabase, engine, type TestDatabase } from './database.js';

export { engine };

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly database: TestDatabase;
  /** Shorthand for app.inject with FHIR JSON bodies. */
  readonly request: (options: FhirInject) => Promise<LightMyRequestResponse>;
}

export interface FhirInject {
  readonly method: InjectOptions['method'];
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://', ...overrides });
}

export function injector(app: FastifyInstance) {
  return (options: FhirInject): Promise<LightMyRequestResponse> =>
    app.inject({
      method: options.method,
      url: options.url,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined
        ? { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
}

export interface TestAppOptions {
  /** Receives every log line (JSON) when set. */
  readonly logStream?: { write(line: string): void };
}

export async function createTestApp(t: Test, overrides: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = testConfig(overrides);
  const app = await buildApp({ config, db: database.db, closeDatabase: false, ...options });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  return { app, config, database, request: injector(app) };
}
