// Signing-key rotation (auth/signing-keys.ts, scripts/keys.ts): the JWKS publishes the current and
// the previous key, new tokens are signed by the current one, tokens of the previous one stay
// valid until they expire, and a running node takes up a rotated key file without a restart.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { AccessTokens } from '../../src/auth/access-tokens.js';
import { loadSigningKey } from '../../src/auth/keys.js';
import { parseKeyFile, SigningKeys, type KeyFileKey } from '../../src/auth/signing-keys.js';
import { tokenIdentity } from '../../src/app.js';
import { testConfig } from '../helpers/app.js';
import { principalFor, tokenFor } from '../helpers/auth.js';
import { engine } from '../helpers/database.js';
import { eventually, fileAuthApp, runScript } from '../helpers/auth-files.js';

function keysOf(path: string): KeyFileKey[] {
  return [...parseKeyFile(readFileSync(path, 'utf8')).keys];
}

t.test(`rotating the signing key on ${engine}`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-keys-'));
  const keyFile = join(dir, 'signing-keys.json');
  const created = await runScript('keys', ['rotate', '--file', keyFile]);
  t.equal(created.code, 0, `rotate creates the key file: ${created.stderr}`);
  const [first] = keysOf(keyFile);
  t.equal(keysOf(keyFile).length, 1);

  // No polling: this node learns of the rotation by a token with the new kid, then by SIGHUP.
  const env = { AUTH_SIGNING_KEY_FILE: keyFile, DATA_DIR: dir, AUTH_RELOAD_INTERVAL_SECONDS: '0' };
  const { app } = await fileAuthApp(t, env);
  const jwks = async (): Promise<string[]> => ((await app.inject({ method: 'GET', url: '/auth/jwks' })).json<{ keys: { kid: string }[] }>()).keys.map((k) => k.kid);
  const read = async (token: string): Promise<number> => (await app.inject({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { authorization: `Bearer ${token}` } })).statusCode;
  t.same(await jwks(), [first?.kid]);
  const oldToken = await tokenFor(app, 'admin');
  const unusedOldToken = await tokenFor(app, 'admin');
  t.equal(decodeProtectedHeader(oldToken).kid, first?.kid);

  const rotated = await runScript('keys', ['rotate', '--file', keyFile]);
  t.equal(rotated.code, 0, rotated.stderr);
  const [second, previous] = keysOf(keyFile);
  t.equal(previous?.kid, first?.kid, 'the old current key is kept as previous');
  t.not(second?.kid, first?.kid);
  const listed = await runScript('keys', ['list', '--file', keyFile]);
  t.equal(listed.code, 0);
  t.match(listed.stdout, new RegExp(`^${second?.kid}\\tcurrent\\tES384\\t\\S+\\t0m\\n${first?.kid}\\tprevious\\t`), 'list shows kids, roles and ages');
  t.notMatch(listed.stdout, /"d"/, 'and no key material');

  // Another node already signs with the new key: its token names a kid this node has not loaded.
  const config = testConfig(env);
  const otherNode = new AccessTokens({
    ...tokenIdentity(config),
    lifetimeSeconds: 600,
    signingKeys: new SigningKeys(await loadSigningKey(second as KeyFileKey, 'ES384')),
    clients: app.auth.clients,
    external: undefined,
  });
  const newKeyToken = (await otherNode.issue(principalFor('admin'))).token;
  t.equal(await read(newKeyToken), 200, 'a token of the new key is accepted: the unknown kid makes the node re-read the file');
  t.same(await jwks(), [second?.kid, first?.kid], 'the JWKS publishes the current and the previous key');
  const newToken = await tokenFor(app, 'admin');
  t.equal(decodeProtectedHeader(newToken).kid, second?.kid, 'new tokens are signed by the new key');
  t.equal(await read(newToken), 200);
  t.equal(await read(oldToken), 200, 'a token of the previous key stays valid until it expires');

  const previousKey = await loadSigningKey(first as KeyFileKey, 'ES384');
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ client_id: 'admin', scope: 'system/*.cruds' })
    .setProtectedHeader({ alg: 'ES384', kid: previousKey.kid, typ: 'at+jwt' })
    .setIssuer(tokenIdentity(config).issuer)
    .setAudience(tokenIdentity(config).audience)
    .setSubject('admin')
    .setIssuedAt(now - 700)
    .setExpirationTime(now - 100)
    .sign(previousKey.privateKey);
  t.equal(await read(expired), 401, 'but not after it expired');

  const early = await runScript('keys', ['rotate', '--file', keyFile]);
  t.equal(early.code, 1, 'a rotation that would drop a key whose tokens may still be valid is refused');
  t.same(keysOf(keyFile).map((k) => k.kid), [second?.kid, first?.kid], 'and leaves the file as it was');

  const forced = await runScript('keys', ['rotate', '--file', keyFile, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  const [third] = keysOf(keyFile);
  t.same(keysOf(keyFile).map((k) => k.kid), [third?.kid, second?.kid], 'at most two keys: the oldest is dropped');
  process.kill(process.pid, 'SIGHUP');
  t.ok(await eventually(async () => (await jwks())[0] === third?.kid), 'SIGHUP reloads the key file');
  t.same(await jwks(), [third?.kid, second?.kid]);
  t.equal(await read(unusedOldToken), 401, 'a token of a dropped key is refused');
  t.equal(await read(oldToken), 401, 'also one this node accepted before (and remembered as verified)');
  t.equal(await read(newKeyToken), 200, 'one of the now previous key is not');
});

t.test('a key file that does not load keeps the keys in use', async (t) => {
  const keys = parseKeyFile(JSON.stringify({ kty: 'EC', crv: 'P-384', x: 'x', y: 'y', d: 'd' }));
  t.equal(keys.keys.length, 1, 'the one-JWK format is read as a ring of one');
  t.throws(() => parseKeyFile('{"keys": []}'), Error);
  t.throws(() => parseKeyFile('{"keys": [{"kid": "a"}, {"kid": "a"}]}'), Error, 'kids must differ');
  t.throws(() => parseKeyFile('not json'), Error);
});
