/**
 * CPU of the bearer token check alone: `npx tsx bench/token-check.ts [--iterations 2000]`. Verifies
 * one Schakel access token repeatedly with the verified-token cache off (every call checks the
 * ES384 signature) and on (the first call checks it), and prints microseconds per check.
 */
import { parseArgs } from 'node:util';
import { AccessTokens } from '../src/auth/access-tokens.js';
import { serverPrincipal } from '../src/auth/principal.js';
import { benchAuth } from './bench-auth.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '2000' } } });
const iterations = Number(values.iterations);
const auth = await benchAuth();
const settings = { issuer: 'http://127.0.0.1', audience: 'http://127.0.0.1/fhir', lifetimeSeconds: 3600, external: undefined, ...auth };

for (const [label, verifiedTokenCache] of [['uncached', 0], ['cached', 10_000]] as const) {
  const tokens = new AccessTokens({ ...settings, verifiedTokenCache });
  const { token } = await tokens.issue(serverPrincipal('bench'));
  for (let i = 0; i < 100; i++) {
    await tokens.verify(token);
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    await tokens.verify(token);
  }
  const used = process.cpuUsage(cpu);
  const perCheck = (n: number): string => ((n / iterations) * 1000).toFixed(1);
  process.stdout.write(`${label}: ${perCheck(performance.now() - started)} µs wall, ${perCheck((used.user + used.system) / 1000)} µs CPU per check\n`);
}
