import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'schakel-secrets-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function secret(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

t.test('DATABASE_URL_FILE, DATABASE_READ_URL_FILE and METRICS_TOKEN_FILE read the secret from a file', async (t) => {
  const config = loadConfig({
    DATABASE_URL_FILE: secret('database-url', 'postgres://schakel:s3cret@db:5432/schakel\n'),
    DATABASE_READ_URL_FILE: secret('database-read-url', 'postgres://schakel:s3cret@replica:5432/schakel'),
    METRICS_TOKEN_FILE: secret('metrics-token', 'metrics-token-0123456789\r\n'),
  });
  t.equal(config.databaseUrl, 'postgres://schakel:s3cret@db:5432/schakel', 'the trailing line break is dropped');
  t.equal(config.databaseReadUrl, 'postgres://schakel:s3cret@replica:5432/schakel');
  t.equal(config.metricsToken, 'metrics-token-0123456789', 'a CRLF line end too');
});

t.test('a secret from a file is validated like one from the environment', async (t) => {
  t.throws(() => loadConfig({ DATABASE_URL_FILE: secret('bad-url', 'mysql://db/schakel') }), ConfigError);
  t.throws(() => loadConfig({ METRICS_TOKEN_FILE: secret('short-token', 'short') }), ConfigError);
});

t.test('both the setting and its _FILE, or an unreadable file, stop the start', async (t) => {
  const both = () =>
    loadConfig({ DATABASE_URL: 'postgres://a@db/x', DATABASE_URL_FILE: secret('both', 'postgres://b@db/x') });
  t.throws(both, ConfigError);
  const missing = join(dir, 'no-such-file');
  try {
    loadConfig({ METRICS_TOKEN_FILE: missing });
    t.fail('a missing file must stop the start');
  } catch (error) {
    t.ok(error instanceof ConfigError);
    t.match(String(error), /METRICS_TOKEN_FILE/, 'the message names the variable');
  }
});

t.test('the content of a secret file never shows in an error', async (t) => {
  try {
    loadConfig({ METRICS_TOKEN: 'x', METRICS_TOKEN_FILE: secret('leak', 'do-not-print-this-token') });
    t.fail('expected a ConfigError');
  } catch (error) {
    t.notMatch(String(error), /do-not-print-this-token/);
  }
});

t.test('settings that name files themselves are left alone', async (t) => {
  const config = loadConfig({ AUTH_CLIENTS_FILE: '/run/secrets/clients.json' });
  t.equal(config.auth.clientsFile, '/run/secrets/clients.json');
});
