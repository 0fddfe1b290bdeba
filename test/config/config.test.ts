import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/config.js';

t.test('defaults', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 8080);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.basePath, '/fhir');
  t.equal(config.databaseUrl, undefined, 'embedded PGlite by default');
  t.equal(config.dataDir, './data');
  t.equal(config.logLevel, 'info');
  t.equal(config.databaseConnectTimeoutMs, 5000, 'a request waits at most 5 s for a connection');
  t.equal(config.databaseStartupWaitSeconds, 60, 'the start waits a minute for the database');
});

t.test('values from the environment', async (t) => {
  const config = loadConfig({
    PORT: '9000',
    HOST: '127.0.0.1',
    BASE_PATH: '/api/fhir/',
    DATABASE_URL: 'postgres://u:p@db:5432/schakel',
    DATA_DIR: '/var/lib/schakel',
    LOG_LEVEL: 'warn',
    DATABASE_CONNECT_TIMEOUT_MS: '2000',
    DATABASE_STARTUP_WAIT_SECONDS: '0',
  });
  t.equal(config.databaseConnectTimeoutMs, 2000);
  t.equal(config.databaseStartupWaitSeconds, 0, '0: fail at once');
  t.equal(config.port, 9000);
  t.equal(config.basePath, '/api/fhir', 'trailing slash dropped');
  t.equal(config.databaseUrl, 'postgres://u:p@db:5432/schakel');
  t.equal(config.logLevel, 'warn');
  t.equal(loadConfig({ BASE_PATH: '/' }).basePath, '');
});

t.test('a read replica beside a PostgreSQL primary', async (t) => {
  t.equal(loadConfig({}).databaseReadUrl, undefined, 'none by default');
  const config = loadConfig({
    DATABASE_URL: 'postgres://u:p@db:5432/schakel',
    DATABASE_READ_URL: 'postgres://u:p@replica:5432/schakel',
    DATABASE_READ_MAX_LAG_SECONDS: '5',
    READ_YOUR_WRITES_WAIT_MS: '50',
  });
  t.equal(config.databaseReadUrl, 'postgres://u:p@replica:5432/schakel');
  t.equal(config.databaseReadMaxLagSeconds, 5);
  t.equal(config.readYourWritesWaitMs, 50);
});

t.test('METRICS_TOKEN is read, and unset by default', async (t) => {
  t.equal(loadConfig({}).metricsToken, undefined);
  t.equal(loadConfig({ METRICS_TOKEN: 'scrape-me-0123456789' }).metricsToken, 'scrape-me-0123456789');
});

t.test('bad values fail at start with the variable named', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ BASE_PATH: 'fhir' }, /BASE_PATH/],
    [{ BODY_LIMIT: '10' }, /BODY_LIMIT/],
    [{ SEED_FIXTURES: 'maybe' }, /SEED_FIXTURES/],
    [{ DEFAULT_PAGE_SIZE: '500', MAX_PAGE_SIZE: '100' }, /DEFAULT_PAGE_SIZE/],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, /PUBLIC_BASE_URL/],
    [{ DATABASE_CONNECT_TIMEOUT_MS: '0' }, /DATABASE_CONNECT_TIMEOUT_MS/],
    [{ DATABASE_STARTUP_WAIT_SECONDS: 'forever' }, /DATABASE_STARTUP_WAIT_SECONDS/],
    [{ DATABASE_READ_URL: 'postgres://u:p@replica:5432/schakel' }, /DATABASE_READ_URL/],
    [{ DATABASE_URL: 'postgres://u:p@db:5432/schakel', DATABASE_READ_URL: 'mysql://x' }, /DATABASE_READ_URL/],
    [{ DATABASE_URL: 'postgres://u:p@db:5432/schakel', READ_YOUR_WRITES_WAIT_MS: '-1' }, /READ_YOUR_WRITES_WAIT_MS/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
    [{ METRICS_TOKEN: 'a token with spaces in it' }, /METRICS_TOKEN/],
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), message, JSON.stringify(env));
    t.throws(() => loadConfig(env), ConfigError);
  }
});

t.test('demo fixtures: on by default in development, off by default and refused in production', async (t) => {
  t.equal(loadConfig({}).seedFixtures, true, 'development (nothing set) seeds, so a fresh clone starts with demo data');
  t.equal(loadConfig({ SEED_FIXTURES: 'false' }).seedFixtures, false);
  const production = { SCHAKEL_MODE: 'production', PUBLIC_BASE_URL: 'https://schakel.example.org/fhir' };
  t.equal(loadConfig(production).seedFixtures, false, 'production seeds nothing by default');
  t.equal(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://schakel.example.org/fhir' }).seedFixtures, false, 'NODE_ENV=production counts');
  t.throws(() => loadConfig({ ...production, SEED_FIXTURES: 'true' }), ConfigError, 'production refuses demo data');
  t.throws(() => loadConfig({ ...production, SEED_FIXTURES: 'true' }), /SEED_FIXTURES/);
});

t.test('production requires PUBLIC_BASE_URL', async (t) => {
  t.throws(() => loadConfig({ SCHAKEL_MODE: 'production' }), ConfigError);
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /PUBLIC_BASE_URL/);
  t.equal(loadConfig({ SCHAKEL_MODE: 'production', PUBLIC_BASE_URL: 'https://schakel.example.org/fhir/' }).publicBaseUrl, 'https://schakel.example.org/fhir');
  t.equal(loadConfig({}).publicBaseUrl, undefined, 'development derives it from the request');
});

t.test('the reminder pass: its interval and the feedback due days', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.reminderIntervalSeconds, 900);
  t.equal(defaults.referralFeedbackDueDays, 14);
  const config = loadConfig({ REMINDER_INTERVAL_SECONDS: '0', REFERRAL_FEEDBACK_DUE_DAYS: '7' });
  t.equal(config.reminderIntervalSeconds, 0, '0: off');
  t.equal(config.referralFeedbackDueDays, 7);
  for (const [env, message] of [
    [{ REMINDER_INTERVAL_SECONDS: 'hourly' }, /REMINDER_INTERVAL_SECONDS/],
    [{ REFERRAL_FEEDBACK_DUE_DAYS: '0' }, /REFERRAL_FEEDBACK_DUE_DAYS/],
  ] as Array<[Record<string, string>, RegExp]>) {
    t.throws(() => loadConfig(env), message, JSON.stringify(env));
    t.throws(() => loadConfig(env), ConfigError);
  }
});
