/**
 * Typed configuration from the environment, validated once at start.
 * A bad value stops the process with a message that names the variable (fail fast).
 */
import { fileURLToPath } from 'node:url';

/** The repository's profiles/ folder, wherever the process was started. */
const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Path prefix of the FHIR endpoint, '' or '/fhir'-like, never with a trailing slash. */
  readonly basePath: string;
  /** Public base URL used in Location headers and Bundle links; derived from the request when unset. */
  readonly publicBaseUrl: string | undefined;
  /** PostgreSQL connection string; undefined means embedded PGlite. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** Folder where PGlite keeps its files; 'memory://' keeps them in memory (tests). */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Largest accepted request body, in bytes (413 beyond). */
  readonly bodyLimit: number;
  /** Deepest JSON nesting accepted in a request body. */
  readonly maxJsonDepth: number;
  /** Load the synthetic demo fixtures on first start with an empty database. */
  readonly seedFixtures: boolean;
  /** Refuse deletes of resources that other current resources reference (409). */
  readonly enforceReferentialIntegrityOnDelete: boolean;
  /** Check on write that local `Type/id` reference targets exist (HAPI's default). */
  readonly enforceReferentialIntegrityOnWrite: boolean;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** Upper bound of entries in a batch or transaction Bundle. */
  readonly maxBundleEntries: number;
  /** Milliseconds to let in-flight requests finish on shutdown. */
  readonly shutdownGraceMs: number;
  /** Folder of StructureDefinitions (profiles) loaded at start and validated against on write. */
  readonly profilesDir: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  if (raw === 'true' || raw === '1') {
    return true;
  }
  if (raw === 'false' || raw === '0') {
    return false;
  }
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function basePath(raw: string | undefined): string {
  const value = raw ?? '/fhir';
  if (value === '' || value === '/') {
    return '';
  }
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(value)) {
    throw new ConfigError(`BASE_PATH must be a path such as /fhir, got "${value}"`);
  }
  return value.replace(/\/$/, '');
}

function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got "${url.protocol}"`);
  }
  return raw;
}

function publicBaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') {
    return undefined;
  }
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error('protocol');
    }
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/$/, '');
}

/** Reads and checks the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env['LOG_LEVEL'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const defaultPageSize = integer(env, 'DEFAULT_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = integer(env, 'MAX_PAGE_SIZE', 1000, 1, 10000);
  if (defaultPageSize > maxPageSize) {
    throw new ConfigError('DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE');
  }
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env['HOST'] || '0.0.0.0',
    basePath: basePath(env['BASE_PATH']),
    publicBaseUrl: publicBaseUrl(env['PUBLIC_BASE_URL']),
    databaseUrl: databaseUrl(env['DATABASE_URL']),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    dataDir: env['DATA_DIR'] || './data',
    logLevel,
    bodyLimit: integer(env, 'BODY_LIMIT', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxJsonDepth: integer(env, 'MAX_JSON_DEPTH', 64, 8, 1000),
    seedFixtures: bool(env, 'SEED_FIXTURES', true),
    enforceReferentialIntegrityOnDelete: bool(env, 'REFERENTIAL_INTEGRITY_ON_DELETE', true),
    enforceReferentialIntegrityOnWrite: bool(env, 'REFERENTIAL_INTEGRITY_ON_WRITE', true),
    defaultPageSize,
    maxPageSize,
    maxBundleEntries: integer(env, 'MAX_BUNDLE_ENTRIES', 1000, 1, 100000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10000, 0, 600000),
    profilesDir: env['PROFILES_DIR'] || DEFAULT_PROFILES_DIR,
  };
}
