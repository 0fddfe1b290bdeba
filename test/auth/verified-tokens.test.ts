// Verified bearer tokens are remembered (src/auth/verified-tokens.ts): the signature is checked once
// per token, the remembered token still yields the same narrowed principal, and never outlives its exp.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { decodeJwt, SignJWT } from 'jose';
import { VerifiedTokens } from '../../src/auth/verified-tokens.js';
import { serverPrincipal } from '../../src/auth/principal.js';
import { createTestApp, engine } from '../helpers/app.js';
import { testAuthSetup, tokenFor } from '../helpers/auth.js';
import { careScenario } from '../helpers/care-scenario.js';

/** Counts the signature checks jose makes (WebCrypto verify) while `fn` runs. */
async function countingVerifications<T>(fn: () => Promise<T>): Promise<{ result: T; verifications: number }> {
  const subtle = globalThis.crypto.subtle;
  const original = subtle.verify.bind(subtle);
  let verifications = 0;
  const counting: typeof subtle.verify = (algorithm, key, signature, data) => {
    verifications += 1;
    return original(algorithm, key, signature, data);
  };
  subtle.verify = counting;
  try {
    return { result: await fn(), verifications };
  } finally {
    subtle.verify = original;
  }
}

t.test(`a bearer token is verified once and then remembered on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const physio = `Bearer ${await tokenFor(app.app, 'physio')}`;
  const read = (url: string, authorization: string) => app.request({ method: 'GET', url: `/fhir/${url}`, headers: { authorization } });

  const { result: statuses, verifications } = await countingVerifications(async () => {
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push((await read('Patient/p-vis', physio)).statusCode, (await read('Patient/p-kok', physio)).statusCode);
    }
    return answers;
  });
  t.same(statuses, [200, 404, 200, 404, 200, 404], 'the remembered token is narrowed as the first time: in care visible, outside care hidden');
  t.equal(verifications, 1, 'six requests with one token check its signature once');

  const token = physio.slice('Bearer '.length);
  t.same(await app.app.auth.tokens.verify(token), await app.app.auth.tokens.verify(token), 'the remembered principal is the verified one');

  const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const refused = await read('Patient/p-vis', `Bearer ${forged}`);
  t.equal(refused.statusCode, 401, 'a token differing from a remembered one is checked on its own');
  t.equal(refused.json().issue[0].code, 'security');
});

t.test(`a remembered token is refused from its exp on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const signingKey = (await testAuthSetup()).signingKeys.current;
  const { iss, aud } = decodeJwt(await tokenFor(app.app, 'admin'));
  const exp = Math.floor(Date.now() / 1000) + 2;
  const shortLived = await new SignJWT({ client_id: 'admin', scope: 'system/*.cruds' })
    .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'at+jwt' })
    .setIssuer(String(iss))
    .setAudience(aud ?? '')
    .setSubject('admin')
    .setIssuedAt()
    .setExpirationTime(exp)
    .setJti('short-lived')
    .sign(signingKey.privateKey);
  const read = () => app.request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { authorization: `Bearer ${shortLived}` } });

  t.equal((await read()).statusCode, 200, 'valid and now remembered');
  t.equal((await read()).statusCode, 200, 'remembered');
  await sleep(exp * 1000 - Date.now() + 50);
  const expired = await read();
  t.equal(expired.statusCode, 401, 'expired although remembered');
  t.equal(expired.json().issue[0].code, 'security');
  t.match(String(expired.headers['www-authenticate']), /invalid_token/);
});

t.test('the remembered tokens are bounded and expire by their own clock', async (t) => {
  let now = 1_000_000;
  const cache = new VerifiedTokens(2, () => now);
  const principal = serverPrincipal('bench');
  cache.set('a', principal, 1_010);
  cache.set('b', principal, 1_010);
  t.equal(cache.get('a'), principal, 'a is used, so b is the least recently used');
  cache.set('c', principal, 1_010);
  t.equal(cache.size, 2, 'never more than the capacity');
  t.equal(cache.get('b'), undefined, 'the least recently used went out');
  t.equal(cache.get('a'), principal);
  t.equal(cache.get('c'), principal);
  now = 1_009_999;
  t.equal(cache.get('a'), principal, 'a millisecond before exp');
  now = 1_010_000;
  t.equal(cache.get('a'), undefined, 'at exp it is gone');
  cache.set('d', principal, 1_010);
  t.equal(cache.get('d'), undefined, 'an already expired token is not remembered');
  t.equal(new VerifiedTokens(0).size, 0);
  const zero = new VerifiedTokens(0, () => now);
  zero.set('e', principal, 2_000);
  t.equal(zero.get('e'), undefined, 'capacity 0 remembers nothing');
  t.not(VerifiedTokens.key('x.y.z'), 'x.y.z', 'the key is not the token');
});
