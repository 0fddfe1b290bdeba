/**
 * The signing keys of Schakel's access tokens as a ring: the current key signs, the current and
 * the previous keys verify and are published in the JWKS (`/auth/jwks`), so a rotation does not
 * invalidate the tokens already handed out; they run out within AUTH_TOKEN_LIFETIME.
 *
 * The key file (AUTH_SIGNING_KEY_FILE) holds either one private JWK (the original format) or a key
 * set `{"keys": [current, previous]}`: private JWKs with kid, alg and a `created` timestamp.
 * `npm run keys -- rotate` (scripts/keys.ts) writes it by replacing the file (write and rename in
 * one directory), so a node reading it never sees half a file; nodes sharing the file (one volume)
 * pick up the new ring through auth-reload.ts.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { generatePrivateJwk, loadSigningKey, publicPart, type SigningAlgorithm, type SigningKey } from './keys.js';

/** A key of the key file: a private JWK and when it was made (ISO 8601). */
export type KeyFileKey = JWK & { created?: string };

export interface KeyFile {
  readonly keys: readonly KeyFileKey[];
}

const ALGORITHMS: readonly string[] = ['ES384', 'RS384'];

/** Current and previous: one rotation back is what the JWKS publishes. */
export const KEPT_KEYS = 2;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The keys of a key file's text, current first; an Error saying what is wrong otherwise. */
export function parseKeyFile(text: string): KeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the signing key file is not JSON');
  }
  if (!isObject(parsed)) {
    throw new Error('the signing key file must hold a private JWK or {"keys": [...]}');
  }
  const keys: unknown = 'keys' in parsed ? parsed['keys'] : [parsed];
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isObject)) {
    throw new Error('"keys" of the signing key file must be a non-empty list of private JWKs');
  }
  const kids = keys.map((k) => k['kid']);
  if (keys.length > 1 && (kids.some((kid) => typeof kid !== 'string' || kid === '') || new Set(kids).size !== kids.length)) {
    throw new Error('each key of the signing key file needs its own kid');
  }
  return { keys: keys };
}

/** Imports the keys: the current one for the configured algorithm, earlier ones for theirs. */
export async function importKeyFile(file: KeyFile, alg: SigningAlgorithm): Promise<SigningKeys> {
  const [first, ...rest] = file.keys;
  if (first === undefined) {
    throw new Error('the signing key file holds no key');
  }
  const current = await loadSigningKey(first, alg);
  const previous: SigningKey[] = [];
  for (const jwk of rest) {
    if (typeof jwk.alg !== 'string' || !ALGORITHMS.includes(jwk.alg)) {
      throw new Error(`the previous signing key ${String(jwk.kid)} needs alg ${ALGORITHMS.join(' or ')}`);
    }
    previous.push(await loadSigningKey(jwk, jwk.alg as SigningAlgorithm));
  }
  return new SigningKeys(current, previous);
}

export async function readSigningKeys(path: string, alg: SigningAlgorithm): Promise<SigningKeys> {
  return importKeyFile(parseKeyFile(await readFile(path, 'utf8')), alg);
}

/** Replaces a file by a complete new one (rename is atomic within one file system). */
export function writeFileAtomically(path: string, text: string, mode = 0o600): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

interface Ring {
  readonly current: SigningKey;
  readonly all: readonly SigningKey[];
  readonly verifier: JWTVerifyGetKey;
}

function ring(current: SigningKey, previous: readonly SigningKey[]): Ring {
  const all = [current, ...previous.filter((k) => k.kid !== current.kid)];
  return { current, all, verifier: createLocalJWKSet({ keys: all.map((k) => k.publicJwk) }) };
}

/**
 * The keys in use, replaced as a whole when the key file changes (never half a ring). An unknown
 * kid in a token of our own issuer can mean another node rotated before this one noticed:
 * `refresh` (set by auth-reload.ts) re-reads the file, at most once per REFRESH_INTERVAL_MS, so
 * tokens with made-up kids cannot make a node read the file on every request.
 */
export class SigningKeys {
  static readonly REFRESH_INTERVAL_MS = 10_000;
  private state: Ring;
  private refresher: (() => Promise<void>) | undefined;
  private lastRefresh = 0;
  private refreshing: Promise<void> | undefined;
  private withdrawals = 0;

  constructor(current: SigningKey, previous: readonly SigningKey[] = []) {
    this.state = ring(current, previous);
  }

  /** The key that signs new tokens. */
  get current(): SigningKey {
    return this.state.current;
  }

  /** Every key that verifies: the current one first. */
  get all(): readonly SigningKey[] {
    return this.state.all;
  }

  get verifier(): JWTVerifyGetKey {
    return this.state.verifier;
  }

  get algorithms(): string[] {
    return [...new Set(this.state.all.map((k) => k.alg))];
  }

  jwks(): JSONWebKeySet {
    return { keys: this.state.all.map((k) => k.publicJwk) };
  }

  replaceWith(other: SigningKeys): void {
    const kept = new Set(other.state.all.map((k) => k.kid));
    if (this.state.all.some((k) => !kept.has(k.kid))) {
      this.withdrawals += 1;
    }
    this.state = other.state;
  }

  /** Counts replacements that withdrew a key: tokens remembered as verified before must be checked again. */
  get withdrawn(): number {
    return this.withdrawals;
  }

  /** Called to re-read the key file on an unknown kid. */
  setRefresher(refresher: (() => Promise<void>) | undefined): void {
    this.refresher = refresher;
  }

  /** Re-reads the keys for an unknown kid when allowed; true when it did (retry the token). */
  async refreshForUnknownKid(): Promise<boolean> {
    if (this.refresher === undefined) {
      return false;
    }
    if (this.refreshing === undefined) {
      if (Date.now() - this.lastRefresh < SigningKeys.REFRESH_INTERVAL_MS) {
        return false;
      }
      this.lastRefresh = Date.now();
      this.refreshing = this.refresher().finally(() => {
        this.refreshing = undefined;
      });
    }
    await this.refreshing;
    return true;
  }
}

/** A new private key as the key file keeps it. */
export async function newKeyFileKey(alg: SigningAlgorithm, now: Date): Promise<KeyFileKey> {
  return { ...(await generatePrivateJwk(alg)), created: now.toISOString() };
}

export interface Rotation {
  readonly file: KeyFile;
  readonly added: string;
  readonly dropped: readonly string[];
}

/**
 * The key file after a rotation: a new current key, the old current one as previous, and any
 * older key dropped. Dropping a key ends the tokens it signed, so a rotation is refused while
 * tokens of the key it would drop may still be valid: the old current key became previous when
 * today's current key was made, and its last tokens expire `tokenLifetimeSeconds` after that.
 */
export async function rotateKeys(file: KeyFile | undefined, alg: SigningAlgorithm, now: Date, tokenLifetimeSeconds: number, force = false): Promise<Rotation> {
  const existing = file?.keys ?? [];
  const current = existing[0];
  const wouldDrop = existing.slice(KEPT_KEYS - 1);
  if (!force && wouldDrop.length > 0 && current !== undefined) {
    const since = current.created === undefined ? Number.NaN : Date.parse(current.created);
    const safeAt = since + tokenLifetimeSeconds * 1000;
    if (!(now.getTime() >= safeAt)) {
      throw new Error(
        `tokens signed by ${wouldDrop.map((k) => String(k.kid)).join(', ')} may still be valid until ${Number.isNaN(safeAt) ? 'an unknown time (no created date)' : new Date(safeAt).toISOString()}; rotate later or pass --force`
      );
    }
  }
  const key = await newKeyFileKey(alg, now);
  // A key of the one-JWK format may lack kid and alg: give it those it was used with (keys.ts).
  const previous = current === undefined ? [] : [{ ...current, alg: current.alg ?? alg, kid: current.kid ?? (await calculateJwkThumbprint(publicPart(current))) }];
  return { file: { keys: [key, ...previous] }, added: String(key.kid), dropped: wouldDrop.map((k) => String(k.kid)) };
}
