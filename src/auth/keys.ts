/**
 * Key material, all through jose (never hand-rolled JWT): Schakel's token-signing key and the
 * generation of demo keys. Keys are JWKs with a `kid` (the RFC 7638 thumbprint) and an `alg`, so a
 * verifier never has to guess which key or algorithm a token uses.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export type SigningAlgorithm = 'ES384' | 'RS384';

export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: CryptoKey;
  /** The public half as published in the JWKS (`/auth/jwks`). */
  readonly publicJwk: JWK;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];
/** Bookkeeping of the key file (signing-keys.ts), not a JWK member anyone else needs. */
const FILE_MEMBERS = ['created'];

/** The public members of a JWK (drops d, p, q, … and the key file's bookkeeping). */
export function publicPart(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k) && !FILE_MEMBERS.includes(k)));
}

/** A new key pair as a private JWK with kid, alg and use. */
export async function generatePrivateJwk(alg: SigningAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS384' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart(jwk));
  return { ...jwk, kid, alg, use: 'sig' };
}

/** Imports a private JWK; a configuration error when it is not one for `alg`. */
export async function loadSigningKey(jwk: JWK, alg: SigningAlgorithm): Promise<SigningKey> {
  if (jwk.d === undefined) {
    throw new Error('the signing key must be a private JWK');
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new Error(`the signing key is for ${jwk.alg}, not ${alg}`);
  }
  const bare: JWK = Object.fromEntries(Object.entries(jwk).filter(([k]) => !FILE_MEMBERS.includes(k)));
  const privateKey = (await importJWK({ ...bare, alg }, alg)) as CryptoKey;
  const publicJwk = publicPart({ ...jwk, alg, use: 'sig' });
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid } };
}
