/**
 * Bearer tokens already verified, so that a client sending the same token on every request pays
 * the signature check (ES384: about half the node time of a read) once per token, not once per
 * request. Bounded (least recently used out first) and keyed by a SHA-256 of the token, so the
 * cache never holds a usable token. An entry lives until the token's `exp` and never longer
 * (RFC 7519 §4.1.4: a token MUST NOT be accepted on or after its expiration time), so a cached
 * token is refused exactly when the uncached check would refuse it for its age. What the cached
 * Principal stands for is derived from the token alone (access-tokens.ts), so it is the same
 * Principal a fresh check gives; the checks that depend on the server's state (the emergency
 * roles, service.ts; the user's Organization and Practitioner) still run on every request.
 */
import { createHash } from 'node:crypto';
import type { Principal } from './principal.js';

export const DEFAULT_VERIFIED_TOKENS = 10_000;

interface Entry {
  readonly principal: Principal;
  /** Milliseconds since the epoch from which the token is no longer accepted (`exp`). */
  readonly expiresAt: number;
}

export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly capacity = DEFAULT_VERIFIED_TOKENS,
    private readonly now: () => number = Date.now
  ) {}

  /** The hash a token is remembered by. */
  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  /** The principal of a token verified before and not yet expired. */
  get(key: string): Principal | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    this.entries.delete(key);
    if (this.now() >= entry.expiresAt) {
      return undefined;
    }
    // Re-inserted so that Map order stays least recently used first.
    this.entries.set(key, entry);
    return entry.principal;
  }

  /** Remembers a verified token until `exp` (seconds since the epoch, as in the JWT). */
  set(key: string, principal: Principal, exp: number): void {
    const expiresAt = exp * 1000;
    if (!Number.isFinite(expiresAt) || this.now() >= expiresAt || this.capacity <= 0) {
      return;
    }
    this.entries.delete(key);
    while (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { principal, expiresAt });
  }

  /** Forgets every token (a signing key was withdrawn: its tokens must be checked again). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
