/**
 * Logging in professionals at the configured external OpenID Connect provider (production's
 * login for SMART apps; AUTH_EXTERNAL_* in config.ts). The browser goes to the provider's
 * authorization endpoint with `response_type=id_token` and `response_mode=form_post` (OpenID
 * Connect Core §3.2, OAuth 2.0 Form Post Response Mode), so the id_token comes back in the
 * browser's POST to /auth/login/callback and Schakel needs no client secret. The id_token is
 * verified with jose against the provider's JWKS: signature (asymmetric algorithms only), iss,
 * aud (our client id at the provider), exp and the nonce of this login.
 *
 * The professional is read from the id_token as from a user assertion (token-endpoint.ts): `sub`
 * (UZI, BIG or AGB as system|value), `role`, `organization` (URA or AGB as system|value), `name`.
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser } from './principal.js';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface ExternalLoginSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly authorizationEndpoint: string;
  readonly clientId: string;
}

export class ExternalLogin {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly settings: ExternalLoginSettings) {
    this.keys = createRemoteJWKSet(new URL(settings.jwksUrl));
  }

  /** Where to send the browser: the provider's authorization endpoint for this login. */
  loginUrl(callbackUrl: string, state: string, nonce: string): string {
    const url = new URL(this.settings.authorizationEndpoint);
    url.searchParams.set('response_type', 'id_token');
    url.searchParams.set('response_mode', 'form_post');
    url.searchParams.set('client_id', this.settings.clientId);
    url.searchParams.set('redirect_uri', callbackUrl);
    url.searchParams.set('scope', 'openid');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    return url.toString();
  }

  /** The professional an id_token names; undefined when it does not verify or names no one we accept. */
  async user(idToken: string, nonce: string): Promise<ActingUser | undefined> {
    try {
      const { payload } = await jwtVerify(idToken, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub', 'nonce'],
      });
      if (payload['nonce'] !== nonce) {
        return undefined;
      }
      const identifier = parseIdentifier(payload.sub, PRACTITIONER_SYSTEMS);
      const organization = parseIdentifier(payload['organization'], ORGANIZATION_SYSTEMS);
      const role = payload['role'];
      const name = payload['name'];
      if (!identifier || !organization || typeof role !== 'string' || role === '') {
        return undefined;
      }
      return { identifier, role, organization, ...(typeof name === 'string' ? { name } : {}) };
    } catch {
      return undefined;
    }
  }
}
