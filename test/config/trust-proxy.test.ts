// TRUST_PROXY and RATE_LIMIT_STORE (config.ts): validated at start, with a message naming the variable.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { trustProxyOption } from '../../src/http/trust-proxy.js';

t.test('TRUST_PROXY is off unless set', async (t) => {
  t.equal(loadConfig({}).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: '' }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: '0' }).trustProxy, false, 'zero hops: off');
});

t.test('TRUST_PROXY takes addresses, CIDR ranges, named ranges or a hop count', async (t) => {
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8 , ::1' }).trustProxy, ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);
  t.same(loadConfig({ TRUST_PROXY: 'loopback,uniquelocal' }).trustProxy, ['loopback', 'uniquelocal']);
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
});

t.test('bad TRUST_PROXY values stop the start', async (t) => {
  for (const bad of ['true', '10.0.0.0/33', '10.0.0.0/8/1', 'proxy.example.nl', '::1/129', '999.1.1.1', '33', '10.0.0.1,,nope']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), { name: ConfigError.name, message: /TRUST_PROXY/ }, bad);
  }
});

t.test('a hop count trusts that many nearest senders', async (t) => {
  const option = trustProxyOption(2);
  t.type(option, 'function');
  if (typeof option === 'function') {
    t.same([0, 1, 2].map((hop) => option('10.0.0.1', hop)), [true, true, false]);
  }
  t.equal(trustProxyOption(false), false);
  t.same(trustProxyOption(['10.0.0.0/8']), ['10.0.0.0/8']);
});

t.test('RATE_LIMIT_STORE: shared on PostgreSQL, memory on PGlite, either when asked', async (t) => {
  t.equal(loadConfig({}).rateLimitStore, 'memory');
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u@db/schakel' }).rateLimitStore, 'database');
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u@db/schakel', RATE_LIMIT_STORE: 'memory' }).rateLimitStore, 'memory');
  t.throws(() => loadConfig({ RATE_LIMIT_STORE: 'redis' }), { name: ConfigError.name, message: /RATE_LIMIT_STORE/ });
});
