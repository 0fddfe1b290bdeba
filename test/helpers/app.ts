/** Builds the real app on a private test database; torn down with the test. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createTestDatabase, engine, type TestDatabase } from './database.js';
import { testAuthSetup, tokenFor, type DemoName } from './auth.js';
import { recordBaseline } from './tables.js';

export { engine };

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly database: TestDatabase;
  /** Shorthand for app.inject with FHIR JSON bodies. */
  readonly request: (options: FhirInject) => Promise<LightMyRequestResponse>;
  /** When the app was up: system history `_since` this leaves out what the server installed at start. */
  readonly startedAt: string;
}

export interface FhirInject {
  readonly method: InjectOptions['method'];
  readonly url: string;
  readonly body?: unknown;
  /** An `authorization` header here replaces the default token; an empty one sends none. */
  readonly headers?: Record<string, string>;
  /** The demo client whose token to send; `admin` (system/*.cruds) by default. */
  readonly as?: DemoName;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  // Tokens minted once per app must outlive the longest test file. A test process builds apps and
  // seeds data in long synchronous stretches, which the event-loop check of the load shedding
  // would take for overload: it is off here, and on in test/http/overload.test.ts.
  // Production requires PUBLIC_BASE_URL (config.ts); tests of production behaviour get one unless they set their own.
  const production = (overrides['SCHAKEL_MODE'] ?? (overrides['NODE_ENV'] === 'production' ? 'production' : undefined)) === 'production';
  return loadConfig({
    LOG_LEVEL: 'silent',
    SEED_FIXTURES: 'false',
    ...(production ? { PUBLIC_BASE_URL: 'http://localhost:8080/fhir' } : {}),
    DATA_DIR: 'memory://',
    AUTH_TOKEN_LIFETIME: '3600',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...overrides,
  });
}

/**
 * app.inject with FHIR JSON bodies and a bearer token: the `admin` integration engine unless the
 * request says otherwise, so tests exercise the real authentication path.
 */
export function injector(app: FastifyInstance) {
  const tokens = new Map<DemoName, Promise<string>>();
  const token = (name: DemoName): Promise<string> => {
    let value = tokens.get(name);
    if (!value) {
      value = tokenFor(app, name);
      tokens.set(name, value);
    }
    return value;
  };
  return async (options: FhirInject): Promise<LightMyRequestResponse> => {
    const explicit = options.headers !== undefined && 'authorization' in options.headers;
    const { authorization, ...headers } = options.headers ?? {};
    const bearer = explicit ? authorization : `Bearer ${await token(options.as ?? 'admin')}`;
    return app.inject({
      method: options.method,
      url: options.url,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
        ...(bearer ? { authorization: bearer } : {}),
        ...headers,
      },
      ...(options.body !== undefined
        ? { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
  };
}

export interface TestAppOptions {
  /** Receives every log line (JSON) when set. */
  readonly logStream?: { write(line: string): void };
}

export async function createTestApp(t: Test, overrides: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = testConfig(overrides);
  const app = await buildApp({ config, db: database.db, closeDatabase: false, auth: await testAuthSetup(), ...options });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  await recordBaseline(app);
  return { app, config, database, request: injector(app), startedAt: new Date().toISOString() };
}
