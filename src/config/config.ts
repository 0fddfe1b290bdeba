/**
 * Typed configuration from the environment, validated once at start.
 * A bad value stops the process with a message that names the variable (fail fast).
 */
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { withSecretFiles } from './secret-files.js';

/** The repository's profiles/ folder, wherever the process was started. */
const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Path prefix of the FHIR endpoint, '' or '/fhir'-like, never with a trailing slash. */
  readonly basePath: string;
  /**
   * PUBLIC_BASE_URL: the base URL used in Location headers, Bundle links, token audiences and
   * notifications. Development derives it from the request when unset; production requires it,
   * since behind a proxy the request's own host is not the address clients know.
   */
  readonly publicBaseUrl: string | undefined;
  /** PostgreSQL connection string; undefined means embedded PGlite. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /**
   * DATABASE_READ_URL: a streaming read replica of DATABASE_URL (PostgreSQL only). Reads and
   * searches go to it; writes, audit rows and transactions stay on the primary
   * (storage/read-routing.ts). Unset: everything runs on the primary.
   */
  readonly databaseReadUrl: string | undefined;
  /**
   * DATABASE_READ_MAX_LAG_SECONDS (default 30): a replica further behind than this takes no
   * reads; they go to the primary until it has caught up.
   */
  readonly databaseReadMaxLagSeconds: number;
  /**
   * READ_YOUR_WRITES_WAIT_MS (default 200): how long a read by a client that has just written
   * waits for the replica to replay that write before it goes to the primary instead.
   */
  readonly readYourWritesWaitMs: number;
  /**
   * DATABASE_CONNECT_TIMEOUT_MS (default 5000): longest wait for a new PostgreSQL connection.
   * While the server is away a request answers 503 after at most this long instead of hanging.
   */
  readonly databaseConnectTimeoutMs: number;
  /**
   * DATABASE_STARTUP_WAIT_SECONDS (default 60): how long the start waits for an unreachable
   * PostgreSQL server, retrying with backoff and a log line per attempt; 0 fails at once.
   */
  readonly databaseStartupWaitSeconds: number;
  /**
   * DATABASE_FAULT_LOG_INTERVAL_SECONDS (default 30): while the database is away, the first 503 of
   * each fault kind is logged with its request id, the rest as one count per interval.
   */
  readonly databaseFaultLogIntervalSeconds: number;
  /**
   * AUDIT_RETENTION_MONTHS (default 60): month partitions of the audit log entirely older than this
   * are dropped; 0 keeps the log forever. NEN 7513 advises at least five years, so that a patient
   * can still see who looked at the record.
   */
  readonly auditRetentionMonths: number;
  /** AUDIT_MAINTENANCE_INTERVAL_SECONDS (default 3600): how often partitions are made ahead and retention runs. */
  readonly auditMaintenanceIntervalSeconds: number;
  /**
   * REMINDER_INTERVAL_SECONDS (default 900): how often the reminder pass runs (one node at a
   * time): measurement Tasks past their window become overdue, accepted referrals without
   * feedback become feedback-overdue (domain/reminders/); 0 turns the pass off.
   */
  readonly reminderIntervalSeconds: number;
  /** REFERRAL_FEEDBACK_DUE_DAYS (default 14): days after acceptance by which a referral's feedback is due. */
  readonly referralFeedbackDueDays: number;
  /** Folder where PGlite keeps its files; 'memory://' keeps them in memory (tests). */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /**
   * Largest accepted request body, in bytes (413 beyond). 50 MB by default: one patient's full
   * history as a transaction Bundle (Synthea writes 10-30 MB for a patient with decades of care)
   * fits with room to spare.
   */
  readonly bodyLimit: number;
  /** Largest Binary content accepted, in bytes (raw or base64-decoded); 413 beyond it. */
  readonly binaryMaxBytes: number;
  /** Deepest JSON nesting accepted in a request body. */
  readonly maxJsonDepth: number;
  /**
   * SEED_FIXTURES: load the synthetic demo fixtures (fixtures/) on a first start with an empty
   * database. Default true in development, false in production; production refuses true, so
   * made-up patients can never appear in a real care record.
   */
  readonly seedFixtures: boolean;
  /** Refuse deletes of resources that other current resources reference (409). */
  readonly enforceReferentialIntegrityOnDelete: boolean;
  /** Check on write that local `Type/id` reference targets exist (HAPI's default). */
  readonly enforceReferentialIntegrityOnWrite: boolean;
  /** An update that changes nothing but meta.versionId/lastUpdated writes a new version anyway (repository/unchanged.ts). */
  readonly updateNoopNewVersion: boolean;
  readonly defaultPageSize: number;
  /**
   * MAX_PAGE_SIZE (default 100): the largest `_count` a search or history page answers; a larger
   * ask is reduced, and a search says so in an OperationOutcome entry (search.mode `outcome`).
   */
  readonly maxPageSize: number;
  /** Searches without _total count their matches exactly up to this many; above it they estimate (search/total.ts). */
  readonly searchTotalExactLimit: number;
  /** Bounds on what one search may cost, and when the node sheds new work (docs/configuration.md, "Overload"). */
  readonly overload: OverloadConfig;
  /**
   * Upper bound of entries in a batch or transaction Bundle (413 beyond). 10,000 by default: a
   * patient-history Bundle holds 3,000-5,000 entries; at ~6 KB an entry, 10,000 is also about
   * where the body limit ends.
   */
  readonly maxBundleEntries: number;
  /** Group commit of the audit records of reads, searches, refusals and failed logins (audit/audit-commit.ts). */
  readonly auditGroupCommit: AuditGroupCommitConfig;
  /** Milliseconds to let in-flight requests finish on shutdown. */
  readonly shutdownGraceMs: number;
  /**
   * Milliseconds between two passes of the change-event dispatcher when no commit wakes it
   * (events/dispatcher.ts): the bound on how late events written by another node are seen. 0: no polling.
   */
  readonly eventPollMs: number;
  /** Rest-hook delivery of Subscriptions (subscriptions/). */
  readonly subscriptions: SubscriptionConfig;
  /**
   * PGlite: bytes that must stay free under DATA_DIR for a write to be accepted (507 otherwise);
   * 0 turns the check off (storage/disk-space.ts).
   */
  readonly diskFreeMarginBytes: number;
  /** Folder of StructureDefinitions (profiles) loaded at start and validated against on write. */
  readonly profilesDir: string;
  /** development registers demo clients and keys on first start; production refuses to. */
  readonly mode: 'development' | 'production';
  readonly auth: AuthConfig;
  /** Origins allowed by CORS; empty means no cross-origin access. */
  readonly corsOrigins: readonly string[];
  /** Requests per minute per client (per address before authentication). */
  readonly rateLimitPerMinute: number;
  /**
   * RATE_LIMIT_STORE: where the rate limit counts. `database` (the default on PostgreSQL): one
   * count per client and minute shared by every node (http/rate-limit-store.ts); `memory` (the
   * default and the only sensible choice on PGlite): each node counts alone, so a client gets the
   * limit once per node.
   */
  readonly rateLimitStore: 'database' | 'memory';
  /**
   * TRUST_PROXY: which senders may name the client's address in X-Forwarded-For (and the scheme
   * and host in X-Forwarded-Proto/-Host): a comma list of addresses and CIDR ranges (or
   * `loopback`, `linklocal`, `uniquelocal`), or a hop count. Off (false) by default: the header
   * is ignored and the audit log and rate limit see the connecting address.
   */
  readonly trustProxy: TrustProxy;
  /**
   * METRICS_TOKEN: when set, /metrics answers only requests with `Authorization: Bearer <token>`.
   * Unset, /metrics is open in development and answers 404 in production (http/metrics-route.ts).
   */
  readonly metricsToken: string | undefined;
}

/** Fastify's `trustProxy`: off, the number of proxy hops to trust, or the trusted proxies' addresses and ranges. */
export type TrustProxy = false | number | readonly string[];

export interface SubscriptionConfig {
  /** Failed deliveries in a row after which a Subscription's status becomes `error` (SUBSCRIPTION_MAX_FAILURES). */
  readonly maxFailures: number;
  /** Milliseconds before the first retry; each further failure doubles it (SUBSCRIPTION_RETRY_MS). */
  readonly retryMs: number;
  /** Milliseconds a receiver has to answer (SUBSCRIPTION_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Endpoints on loopback and private addresses (SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS; default only in development). */
  readonly allowPrivateEndpoints: boolean;
  /** Plain http endpoints: only in development, where receivers run next to the server. */
  readonly allowHttp: boolean;
  /**
   * Milliseconds between two batches of change events matched against the Subscriptions while
   * writes keep coming (SUBSCRIPTION_MATCH_INTERVAL_MS; 0: every commit at once). Matching and
   * sending cost about the same per batch whatever its length, so under load a short wait buys
   * write throughput for a little notification latency.
   */
  readonly matchIntervalMs: number;
}

/**
 * Load shedding and per-search limits. Each `0` switches its check off. Under pressure a FHIR
 * request answers 503 with Retry-After and an OperationOutcome; /healthz and /readyz never do.
 */
export interface OverloadConfig {
  /** OVERLOAD_MAX_EVENT_LOOP_DELAY_MS (default 500): mean event-loop delay above which new FHIR work is shed. */
  readonly maxEventLoopDelayMs: number;
  /** OVERLOAD_MAX_HEAP_MB (default 1024): V8 heap in use above which new FHIR work is shed. */
  readonly maxHeapMb: number;
  /** OVERLOAD_MAX_RSS_MB (default 1536): resident memory above which new FHIR work is shed. */
  readonly maxRssMb: number;
  /** OVERLOAD_MAX_QUEUED_QUERIES (default 32): statements waiting for a database connection above which new FHIR work is shed. */
  readonly maxQueuedQueries: number;
  /**
   * OVERLOAD_MAX_ACTIVE_REQUESTS: FHIR requests that do database work at the same time. Default:
   * DATABASE_POOL_SIZE - 1 on PostgreSQL (one connection stays free for /readyz and the token
   * endpoint), 2 on PGlite (one session: more in parallel only lengthen its queue).
   */
  readonly maxActiveRequests: number;
  /** OVERLOAD_MAX_WAITING_REQUESTS (default 64): FHIR requests that may wait for a turn; beyond, 503 at once. */
  readonly maxWaitingRequests: number;
  /** OVERLOAD_MAX_WAIT_MS (default 5000): longest wait for a turn before a request answers 503. */
  readonly maxWaitMs: number;
  /** OVERLOAD_RETRY_AFTER_SECONDS (default 5): the Retry-After of a shed request. */
  readonly retryAfterSeconds: number;
  /**
   * SEARCH_STATEMENT_TIMEOUT_MS (default 10000): longest a search statement may run on PostgreSQL
   * (SET LOCAL statement_timeout); past it the search answers 503 `too-costly`. PGlite cannot
   * interrupt a statement (no timer signals in WASM); there the page and include caps bound a search.
   */
  readonly searchStatementTimeoutMs: number;
  /** SEARCH_MAX_INCLUDES (default 200): resources _include and _revinclude add to one page; the rest is cut and said so. */
  readonly maxIncludes: number;
}

/** How audit records of requests that write nothing are gathered into one INSERT (docs/configuration.md). */
export interface AuditGroupCommitConfig {
  /**
   * AUDIT_GROUP_COMMIT_MS (default 2): while an audit INSERT is in flight, how long the first queued
   * record waits for others before the next INSERT; 0 (and any idle moment) writes on the next turn
   * of the event loop, with the records of the same turn (audit/group-commit.ts).
   */
  readonly delayMs: number;
  /** AUDIT_GROUP_COMMIT_MAX_ROWS (default 200): records in one INSERT; a full batch is written at once. */
  readonly maxRows: number;
  /**
   * AUDIT_GROUP_COMMIT_FLUSHES: INSERTs of audit records in flight at the same time. Default 2 on
   * PostgreSQL (never more than DATABASE_POOL_SIZE), so one slow INSERT does not hold up every
   * read, while each batch stays large; 1 on PGlite (one session: a second would only queue).
   */
  readonly maxFlushes: number;
}

/** Authentication and access settings (docs/security.md). */
export interface AuthConfig {
  /** `iss` of Schakel's access tokens; also their audience together with the FHIR base path. */
  readonly issuer: string | undefined;
  /** JSON file of registered clients (required in production). */
  readonly clientsFile: string | undefined;
  /** Private JWK, or key set of the current and previous keys, that signs access tokens (required in production; auth/signing-keys.ts). */
  readonly signingKeyFile: string | undefined;
  /**
   * How often (AUTH_RELOAD_INTERVAL_SECONDS, default 5) the key and clients files are checked for
   * a change, which is then loaded without a restart (auth/auth-reload.ts); 0 checks only on
   * SIGHUP and, for the key file, on a token with an unknown kid.
   */
  readonly reloadIntervalSeconds: number;
  readonly signingAlgorithm: 'ES384' | 'RS384';
  /** Algorithms accepted for client and user assertions. */
  readonly assertionAlgorithms: ReadonlyArray<'ES384' | 'RS384'>;
  /** Lifetime of an access token in seconds. */
  readonly tokenLifetime: number;
  /** An external OpenID issuer whose access tokens are accepted too. */
  readonly external: { readonly issuer: string; readonly audience: string; readonly jwksUrl: string } | undefined;
  /** Role codes that may claim emergency access (break-the-glass). */
  readonly breakTheGlassRoles: readonly string[];
  /**
   * AUTH_EXTERNAL_AUTHORIZATION_ENDPOINT and AUTH_EXTERNAL_CLIENT_ID: where SMART apps' users log in
   * (OpenID Connect, auth/external-login.ts), at the external issuer above; production's only login.
   */
  readonly externalLogin: { readonly authorizationEndpoint: string; readonly clientId: string } | undefined;
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

function databaseUrl(raw: string | undefined, name = 'DATABASE_URL'): string | undefined {
  if (raw === undefined || raw === '') {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must start with postgres:// or postgresql://, got "${url.protocol}"`);
  }
  return raw;
}

/** A replica replicates a PostgreSQL primary: without DATABASE_URL (embedded PGlite) there is none. */
function databaseReadUrl(env: Env, primary: string | undefined): string | undefined {
  const url = databaseUrl(env['DATABASE_READ_URL'], 'DATABASE_READ_URL');
  if (url !== undefined && primary === undefined) {
    throw new ConfigError('DATABASE_READ_URL needs DATABASE_URL: embedded PGlite has no read replicas');
  }
  return url;
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

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const ALGORITHMS = ['ES384', 'RS384'] as const;

function algorithm(env: Env, name: string, fallback: 'ES384' | 'RS384'): 'ES384' | 'RS384' {
  const raw = env[name] || fallback;
  if (!(ALGORITHMS as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${ALGORITHMS.join(', ')}, got "${raw}"`);
  }
  return raw as 'ES384' | 'RS384';
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error('protocol');
    }
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/$/, '');
}

/** Development default: the demo GP and rehabilitation physician may claim emergency access. */
const DEMO_BREAK_THE_GLASS_ROLES = ['01.015', '01.042'];

function authConfig(env: Env, mode: 'development' | 'production'): AuthConfig {
  const assertionAlgorithms = list(env, 'AUTH_ASSERTION_ALGORITHMS');
  for (const alg of assertionAlgorithms) {
    if (!(ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(`AUTH_ASSERTION_ALGORITHMS may list ${ALGORITHMS.join(', ')}, got "${alg}"`);
    }
  }
  const externalIssuer = env['AUTH_EXTERNAL_ISSUER'] || undefined;
  const externalJwks = url(env, 'AUTH_EXTERNAL_JWKS_URL');
  const externalAudience = env['AUTH_EXTERNAL_AUDIENCE'] || undefined;
  const externalSet = [externalIssuer, externalJwks, externalAudience].filter((v) => v !== undefined).length;
  if (externalSet !== 0 && externalSet !== 3) {
    throw new ConfigError('AUTH_EXTERNAL_ISSUER, AUTH_EXTERNAL_JWKS_URL and AUTH_EXTERNAL_AUDIENCE go together');
  }
  const loginEndpoint = url(env, 'AUTH_EXTERNAL_AUTHORIZATION_ENDPOINT');
  const loginClientId = env['AUTH_EXTERNAL_CLIENT_ID'] || undefined;
  if ((loginEndpoint === undefined) !== (loginClientId === undefined) || (loginEndpoint !== undefined && externalSet !== 3)) {
    throw new ConfigError('AUTH_EXTERNAL_AUTHORIZATION_ENDPOINT and AUTH_EXTERNAL_CLIENT_ID go together, with AUTH_EXTERNAL_ISSUER, AUTH_EXTERNAL_JWKS_URL and AUTH_EXTERNAL_AUDIENCE');
  }
  return {
    externalLogin: loginEndpoint !== undefined && loginClientId !== undefined ? { authorizationEndpoint: loginEndpoint, clientId: loginClientId } : undefined,
    issuer: url(env, 'AUTH_ISSUER'),
    clientsFile: env['AUTH_CLIENTS_FILE'] || undefined,
    signingKeyFile: env['AUTH_SIGNING_KEY_FILE'] || undefined,
    reloadIntervalSeconds: integer(env, 'AUTH_RELOAD_INTERVAL_SECONDS', 5, 0, 3600),
    signingAlgorithm: algorithm(env, 'AUTH_SIGNING_ALGORITHM', 'ES384'),
    assertionAlgorithms: assertionAlgorithms.length > 0 ? (assertionAlgorithms as Array<'ES384' | 'RS384'>) : [...ALGORITHMS],
    tokenLifetime: integer(env, 'AUTH_TOKEN_LIFETIME', 300, 30, 3600),
    external:
      externalIssuer && externalJwks && externalAudience
        ? { issuer: externalIssuer, audience: externalAudience, jwksUrl: externalJwks }
        : undefined,
    breakTheGlassRoles:
      env['BREAK_THE_GLASS_ROLES'] !== undefined || mode === 'production' ? list(env, 'BREAK_THE_GLASS_ROLES') : DEMO_BREAK_THE_GLASS_ROLES,
  };
}

function overloadConfig(env: Env, activeRequests: number): OverloadConfig {
  return {
    maxEventLoopDelayMs: integer(env, 'OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 500, 0, 600_000),
    maxHeapMb: integer(env, 'OVERLOAD_MAX_HEAP_MB', 1024, 0, 1_048_576),
    maxRssMb: integer(env, 'OVERLOAD_MAX_RSS_MB', 1536, 0, 1_048_576),
    maxQueuedQueries: integer(env, 'OVERLOAD_MAX_QUEUED_QUERIES', 32, 0, 100_000),
    maxActiveRequests: integer(env, 'OVERLOAD_MAX_ACTIVE_REQUESTS', activeRequests, 1, 10_000),
    maxWaitingRequests: integer(env, 'OVERLOAD_MAX_WAITING_REQUESTS', 64, 0, 100_000),
    maxWaitMs: integer(env, 'OVERLOAD_MAX_WAIT_MS', 5000, 1, 600_000),
    retryAfterSeconds: integer(env, 'OVERLOAD_RETRY_AFTER_SECONDS', 5, 1, 3600),
    searchStatementTimeoutMs: integer(env, 'SEARCH_STATEMENT_TIMEOUT_MS', 10_000, 0, 3_600_000),
    maxIncludes: integer(env, 'SEARCH_MAX_INCLUDES', 200, 1, 100_000),
  };
}

function mode(env: Env): 'development' | 'production' {
  const raw = env['SCHAKEL_MODE'] || (env['NODE_ENV'] === 'production' ? 'production' : 'development');
  if (raw !== 'development' && raw !== 'production') {
    throw new ConfigError(`SCHAKEL_MODE must be development or production, got "${raw}"`);
  }
  return raw;
}

/** Named ranges that proxy-addr (Fastify's trustProxy) understands besides addresses and CIDRs. */
const TRUST_PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY. `true` (trust every sender) is refused: then any client could write its own
 * X-Forwarded-For and choose the address the audit log records and the rate limit counts.
 */
function trustProxy(env: Env): TrustProxy {
  const raw = (env['TRUST_PROXY'] ?? '').trim();
  if (raw === '' || raw === 'false') {
    return false;
  }
  if (/^\d+$/.test(raw)) {
    const hops = integer(env, 'TRUST_PROXY', 0, 0, 32);
    return hops === 0 ? false : hops;
  }
  const entries = list(env, 'TRUST_PROXY');
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    const bits = version === 4 ? 32 : 128;
    const validPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
    if (!(TRUST_PROXY_RANGES.includes(entry) || (version !== 0 && validPrefix && rest.length === 0))) {
      throw new ConfigError(
        `TRUST_PROXY must be a hop count or a comma list of addresses, CIDR ranges and ${TRUST_PROXY_RANGES.join(', ')}; "${entry}" is none of these`
      );
    }
  }
  return entries;
}

/** RATE_LIMIT_STORE; `database` by default on PostgreSQL, where several nodes may share the database. */
function rateLimitStore(env: Env, postgres: boolean): 'database' | 'memory' {
  const raw = env['RATE_LIMIT_STORE'] || (postgres ? 'database' : 'memory');
  if (raw !== 'database' && raw !== 'memory') {
    throw new ConfigError(`RATE_LIMIT_STORE must be database or memory, got "${raw}"`);
  }
  return raw;
}

/** A bearer token (RFC 6750 §2.1 b64token), long enough not to be guessed. */
function metricsToken(env: Env): string | undefined {
  const raw = env['METRICS_TOKEN'];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(raw) || raw.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters of A-Z, a-z, 0-9 and -._~+/');
  }
  return raw;
}

/** Demo data by default in development only; production refuses it outright (Config.seedFixtures). */
function seedFixtures(env: Env, mode: 'development' | 'production'): boolean {
  const seed = bool(env, 'SEED_FIXTURES', mode === 'development');
  if (seed && mode === 'production') {
    throw new ConfigError('SEED_FIXTURES=true loads synthetic demo patients and is refused in production (SCHAKEL_MODE/NODE_ENV)');
  }
  return seed;
}

function requiredInProduction<T>(value: T | undefined, name: string, mode: 'development' | 'production'): T | undefined {
  if (value === undefined && mode === 'production') {
    throw new ConfigError(`${name} is required in production (SCHAKEL_MODE/NODE_ENV): the public https address of the FHIR endpoint, e.g. https://schakel.example.org/fhir`);
  }
  return value;
}

/** Reads and checks the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(environment: Env = process.env): Config {
  // DATABASE_URL_FILE and the like (config/secret-files.ts): from here on the secret is in env.
  const env = withSecretFiles(environment, (message) => new ConfigError(message));
  const logLevel = (env['LOG_LEVEL'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const defaultPageSize = integer(env, 'DEFAULT_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = integer(env, 'MAX_PAGE_SIZE', 100, 1, 10000);
  if (defaultPageSize > maxPageSize) {
    throw new ConfigError('DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE');
  }
  const dbUrl = databaseUrl(env['DATABASE_URL']);
  const poolSize = integer(env, 'DATABASE_POOL_SIZE', 10, 1, 500);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env['HOST'] || '0.0.0.0',
    basePath: basePath(env['BASE_PATH']),
    publicBaseUrl: requiredInProduction(publicBaseUrl(env['PUBLIC_BASE_URL']), 'PUBLIC_BASE_URL', mode(env)),
    databaseUrl: dbUrl,
    databasePoolSize: poolSize,
    databaseReadUrl: databaseReadUrl(env, dbUrl),
    databaseReadMaxLagSeconds: integer(env, 'DATABASE_READ_MAX_LAG_SECONDS', 30, 0, 86_400),
    readYourWritesWaitMs: integer(env, 'READ_YOUR_WRITES_WAIT_MS', 200, 0, 10_000),
    databaseConnectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    databaseStartupWaitSeconds: integer(env, 'DATABASE_STARTUP_WAIT_SECONDS', 60, 0, 86_400),
    databaseFaultLogIntervalSeconds: integer(env, 'DATABASE_FAULT_LOG_INTERVAL_SECONDS', 30, 1, 3600),
    auditRetentionMonths: integer(env, 'AUDIT_RETENTION_MONTHS', 60, 0, 1200),
    auditMaintenanceIntervalSeconds: integer(env, 'AUDIT_MAINTENANCE_INTERVAL_SECONDS', 3600, 1, 86_400),
    reminderIntervalSeconds: integer(env, 'REMINDER_INTERVAL_SECONDS', 900, 0, 86_400),
    referralFeedbackDueDays: integer(env, 'REFERRAL_FEEDBACK_DUE_DAYS', 14, 1, 365),
    dataDir: env['DATA_DIR'] || './data',
    logLevel,
    bodyLimit: integer(env, 'BODY_LIMIT', 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    binaryMaxBytes: integer(env, 'BINARY_MAX_BYTES', 20 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    maxJsonDepth: integer(env, 'MAX_JSON_DEPTH', 64, 8, 1000),
    seedFixtures: seedFixtures(env, mode(env)),
    enforceReferentialIntegrityOnDelete: bool(env, 'REFERENTIAL_INTEGRITY_ON_DELETE', true),
    enforceReferentialIntegrityOnWrite: bool(env, 'REFERENTIAL_INTEGRITY_ON_WRITE', true),
    updateNoopNewVersion: bool(env, 'UPDATE_NOOP_NEW_VERSION', false),
    defaultPageSize,
    maxPageSize,
    searchTotalExactLimit: integer(env, 'SEARCH_TOTAL_EXACT_LIMIT', 1000, 0, 1_000_000),
    overload: overloadConfig(env, dbUrl === undefined ? 2 : Math.max(1, poolSize - 1)),
    maxBundleEntries: integer(env, 'MAX_BUNDLE_ENTRIES', 10_000, 1, 100000),
    auditGroupCommit: {
      delayMs: integer(env, 'AUDIT_GROUP_COMMIT_MS', 2, 0, 1000),
      maxRows: integer(env, 'AUDIT_GROUP_COMMIT_MAX_ROWS', 200, 1, 10_000),
      maxFlushes: integer(env, 'AUDIT_GROUP_COMMIT_FLUSHES', dbUrl === undefined ? 1 : Math.min(2, poolSize), 1, poolSize),
    },
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10000, 0, 600000),
    eventPollMs: integer(env, 'EVENT_POLL_MS', 5000, 0, 3_600_000),
    subscriptions: {
      maxFailures: integer(env, 'SUBSCRIPTION_MAX_FAILURES', 5, 1, 1000),
      retryMs: integer(env, 'SUBSCRIPTION_RETRY_MS', 1000, 1, 3_600_000),
      timeoutMs: integer(env, 'SUBSCRIPTION_TIMEOUT_MS', 10_000, 100, 600_000),
      matchIntervalMs: integer(env, 'SUBSCRIPTION_MATCH_INTERVAL_MS', 250, 0, 10_000),
      allowPrivateEndpoints: bool(env, 'SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS', mode(env) === 'development'),
      allowHttp: mode(env) === 'development',
    },
    diskFreeMarginBytes: integer(env, 'DISK_FREE_MARGIN_MB', 64, 0, 1_048_576) * 1024 * 1024,
    profilesDir: env['PROFILES_DIR'] || DEFAULT_PROFILES_DIR,
    mode: mode(env),
    auth: authConfig(env, mode(env)),
    corsOrigins: list(env, 'CORS_ORIGINS'),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    rateLimitStore: rateLimitStore(env, dbUrl !== undefined),
    trustProxy: trustProxy(env),
    metricsToken: metricsToken(env),
  };
}
