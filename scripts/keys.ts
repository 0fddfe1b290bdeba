/**
 * The token-signing key file (AUTH_SIGNING_KEY_FILE, src/auth/signing-keys.ts):
 *
 *   npm run keys -- rotate [--file <path>] [--force]   a new current key; the current one becomes previous
 *   npm run keys -- list [--file <path>]               kids, roles, algorithms and ages
 *
 * `rotate` on a file that does not exist creates it with one key. It refuses to drop a previous
 * key whose tokens may still be valid (AUTH_TOKEN_LIFETIME) unless --force. The file is replaced
 * in one rename; running servers take it up within AUTH_RELOAD_INTERVAL_SECONDS, on SIGHUP, or on
 * the first token signed with the new key. Nothing but the kids is printed: never a key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { importKeyFile, parseKeyFile, rotateKeys, writeFileAtomically, type KeyFile } from '../src/auth/signing-keys.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function age(created: string | undefined, now: Date): string {
  const at = created === undefined ? Number.NaN : Date.parse(created);
  if (Number.isNaN(at)) {
    return 'unknown';
  }
  const minutes = Math.max(0, Math.floor((now.getTime() - at) / 60_000));
  return minutes < 120 ? `${minutes}m` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)}h` : `${Math.floor(minutes / 1440)}d`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { file: { type: 'string' }, force: { type: 'boolean' } } });
  const config = loadConfig();
  const path = values.file ?? config.auth.signingKeyFile;
  if (path === undefined) {
    fail('name the key file: --file <path> or AUTH_SIGNING_KEY_FILE');
  }
  const command = positionals[0];
  const existing: KeyFile | undefined = existsSync(path) ? parseKeyFile(readFileSync(path, 'utf8')) : undefined;
  const now = new Date();
  if (command === 'rotate') {
    if (existing !== undefined) {
      // Refuse to rotate away from a file the server could not load either.
      await importKeyFile(existing, config.auth.signingAlgorithm);
    }
    const rotation = await rotateKeys(existing, config.auth.signingAlgorithm, now, config.auth.tokenLifetime, values.force === true);
    await importKeyFile(rotation.file, config.auth.signingAlgorithm);
    writeFileAtomically(path, `${JSON.stringify(rotation.file, undefined, 2)}\n`);
    process.stdout.write(`current ${rotation.added}\n`);
    for (const kid of rotation.dropped) {
      process.stdout.write(`dropped ${kid}\n`);
    }
    return;
  }
  if (command === 'list') {
    if (existing === undefined) {
      fail(`${path} does not exist (npm run keys -- rotate creates it)`);
    }
    const ring = await importKeyFile(existing, config.auth.signingAlgorithm);
    existing.keys.forEach((key, index) => {
      const kid = ring.all[index]?.kid ?? String(key.kid);
      process.stdout.write(`${kid}\t${index === 0 ? 'current' : 'previous'}\t${String(key.alg ?? config.auth.signingAlgorithm)}\t${key.created ?? '-'}\t${age(key.created, now)}\n`);
    });
    return;
  }
  fail('usage: npm run keys -- rotate|list [--file <path>] [--force]');
}

main().catch((error: unknown) => fail(`npm run keys failed: ${error instanceof Error ? error.message : String(error)}`));
