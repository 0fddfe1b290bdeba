/**
 * Access tokens: short-lived JWTs signed by Schakel (RFC 9068 JWT profile, `typ: at+jwt`), and the
 * verification of every bearer token: Schakel's own, or one from the configured external OpenID
 * issuer (its JWKS fetched and cached by jose). Only asymmetric algorithms are accepted and each
 * issuer's key set is fixed, so `alg: none` and algorithm confusion (HS256 keyed with a public key)
 * fail; so do a wrong iss or aud, an expired token and an unknown kid (RFC 6750 invalid_token).
 */
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ClientRegistry } from './clients.js';
import type { SigningKeys } from './signing-keys.js';
import { invalidToken } from './oauth-errors.js';
import { formatIdentifier, ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser, type Principal } from './principal.js';
import { ScopeSet, grantScopes } from './scopes.js';
import { BREAK_THE_GLASS } from './token-endpoint.js';
import { VerifiedTokens } from './verified-tokens.js';

const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly lifetimeSeconds: number;
  /** The current key signs; the current and previous ones verify (signing-keys.ts). */
  readonly signingKeys: SigningKeys;
  readonly clients: ClientRegistry;
  readonly external: { readonly issuer: string; readonly audience: string; readonly jwksUrl: string } | undefined;
  /** How many verified tokens are remembered (verified-tokens.ts); 0 checks every token every time. */
  readonly verifiedTokenCache?: number;
}

function userClaims(user: ActingUser): Record<string, string> {
  return {
    id: formatIdentifier(user.identifier),
    role: user.role,
    organization: formatIdentifier(user.organization),
    ...(user.responsible ? { responsible: formatIdentifier(user.responsible) } : {}),
    ...(user.name !== undefined ? { name: user.name } : {}),
  };
}

function userFrom(claim: unknown): ActingUser | undefined {
  if (claim === null || typeof claim !== 'object') {
    return undefined;
  }
  const c = claim as Record<string, unknown>;
  const identifier = parseIdentifier(c['id'], PRACTITIONER_SYSTEMS);
  const organization = parseIdentifier(c['organization'], ORGANIZATION_SYSTEMS);
  const responsible = parseIdentifier(c['responsible'], PRACTITIONER_SYSTEMS);
  if (!identifier || !organization || typeof c['role'] !== 'string') {
    return undefined;
  }
  return {
    identifier,
    role: c['role'],
    organization,
    ...(responsible ? { responsible } : {}),
    ...(typeof c['name'] === 'string' ? { name: c['name'] } : {}),
  };
}

export class AccessTokens {
  private readonly externalKeys: JWTVerifyGetKey | undefined;
  private readonly verified: VerifiedTokens;
  /** signingKeys.withdrawn when the verified tokens were last cleared. */
  private withdrawnSeen = 0;

  constructor(private readonly settings: AccessTokenSettings) {
    this.verified = new VerifiedTokens(settings.verifiedTokenCache);
    this.externalKeys = settings.external ? createRemoteJWKSet(new URL(settings.external.jwksUrl)) : undefined;
  }

  /** A signed access token for a principal, and its lifetime. */
  async issue(principal: Principal): Promise<{ token: string; expiresIn: number; jti: string }> {
    const { issuer, audience, lifetimeSeconds } = this.settings;
    const signingKey = this.settings.signingKeys.current;
    const jti = randomUUID();
    const token = await new SignJWT({
      client_id: principal.clientId,
      scope: principal.scopes.toString(),
      ...(principal.user ? { user: userClaims(principal.user) } : {}),
      ...(principal.emergency ? { purpose_of_use: BREAK_THE_GLASS, reason: principal.emergency.reason } : {}),
      ...(principal.grantId !== undefined ? { grant: principal.grantId } : {}),
    })
      .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(principal.clientId)
      .setIssuedAt()
      .setExpirationTime(`${lifetimeSeconds}s`)
      .setJti(jti)
      .sign(signingKey.privateKey);
    return { token, expiresIn: lifetimeSeconds, jti };
  }

  /** The principal a bearer token stands for; 401 invalid_token when it does not verify. */
  async verify(token: string): Promise<Principal> {
    if (this.settings.signingKeys.withdrawn !== this.withdrawnSeen) {
      // A key left the ring: a token it signed must not live on in the cache (signing-keys.ts).
      this.withdrawnSeen = this.settings.signingKeys.withdrawn;
      this.verified.clear();
    }
    const key = VerifiedTokens.key(token);
    const remembered = this.verified.get(key);
    if (remembered !== undefined) {
      return remembered;
    }
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw invalidToken(true, 'The bearer token is not a JWT');
    }
    const external = this.settings.external;
    const own = !external || issuer !== external.issuer;
    let payload: JWTPayload;
    try {
      ({ payload } = own
        ? await this.verifyOwn(token)
        : await jwtVerify(token, this.externalKeys as JWTVerifyGetKey, {
            issuer: external.issuer,
            audience: external.audience,
            algorithms: EXTERNAL_ALGORITHMS,
            requiredClaims: ['exp'],
          }));
    } catch (error) {
      throw invalidToken(true, `The bearer token was not accepted (${error instanceof errors.JOSEError ? error.code : 'invalid'})`);
    }
    const principal = own ? this.ownPrincipal(payload) : this.externalPrincipal(payload, external.issuer);
    // requiredClaims makes exp present; jose has checked it is a number in the future.
    this.verified.set(key, principal, payload.exp ?? 0);
    return principal;
  }

  /**
   * Our own token, by the current or the previous key. A kid we do not know may be of a key
   * another node rotated to before this one noticed: the key file is re-read (bounded,
   * signing-keys.ts) and the token tried once more.
   */
  private async verifyOwn(token: string): Promise<{ payload: JWTPayload }> {
    const verify = (): Promise<{ payload: JWTPayload }> => {
      const keys = this.settings.signingKeys;
      return jwtVerify(token, keys.verifier, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: keys.algorithms,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
      });
    };
    try {
      return await verify();
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey && (await this.settings.signingKeys.refreshForUnknownKid())) {
        return verify();
      }
      throw error;
    }
  }

  private ownPrincipal(payload: JWTPayload): Principal {
    const user = payload['user'] === undefined ? undefined : userFrom(payload['user']);
    if (payload['user'] !== undefined && !user) {
      throw invalidToken(true, 'The bearer token names its user incorrectly');
    }
    const principal = this.principal(payload, String(payload.sub), ScopeSet.parse(typeof payload['scope'] === 'string' ? payload['scope'] : ''), user, this.settings.issuer);
    // Only our own tokens name a grant of ours (app-grants.ts); service.ts checks it is not revoked.
    return typeof payload['grant'] === 'string' ? { ...principal, grantId: payload['grant'] } : principal;
  }

  /**
   * An external token names its client in client_id (or azp) and must belong to a registered
   * client: its scopes are cut down to the client's registration, as Schakel's own would be.
   */
  private externalPrincipal(payload: JWTPayload, issuer: string): Principal {
    const clientId = payload['client_id'] ?? payload['azp'];
    const client = typeof clientId === 'string' ? this.settings.clients.find(clientId) : undefined;
    if (!client) {
      throw invalidToken(true, 'The bearer token belongs to no registered client');
    }
    const user = payload['user'] === undefined ? undefined : userFrom(payload['user']);
    if (payload['user'] !== undefined && !user) {
      throw invalidToken(true, 'The bearer token names its user incorrectly');
    }
    if (user && !client.organizations.some((o) => o.system === user.organization.system && o.value === user.organization.value)) {
      throw invalidToken(true, 'The client is not registered to act for that organisation');
    }
    const granted = grantScopes(typeof payload['scope'] === 'string' ? payload['scope'] : '', client.registration.scopes, user ? 'user' : 'system');
    return this.principal(payload, client.registration.clientId, 'granted' in granted ? granted.granted : new ScopeSet([]), user, issuer);
  }

  private principal(payload: JWTPayload, clientId: string, scopes: ScopeSet, user: ActingUser | undefined, issuer: string): Principal {
    const reason = payload['reason'];
    return {
      kind: user ? 'user' : 'system',
      clientId,
      // A user-context token only ever carries user/ scopes, a system token system/ ones.
      scopes: new ScopeSet(scopes.scopes.filter((s) => s.context === (user ? 'user' : 'system'))),
      ...(user ? { user } : {}),
      ...(user && payload['purpose_of_use'] === BREAK_THE_GLASS && typeof reason === 'string' ? { emergency: { reason } } : {}),
      ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
      issuer,
    };
  }
}
