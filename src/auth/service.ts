/**
 * Authentication as one service for http/: the token endpoint, bearer token verification into a
 * Principal (with the user's Organization and Practitioner looked up by identifier), the SMART
 * discovery document and the public keys. Transport-free: http/auth-routes.ts and
 * http/authenticate.ts are the Fastify glue.
 */
import type { JSONWebKeySet } from 'jose';
import type { AuthConfig } from '../config/config.js';
import type { Queryable } from '../storage/database.js';
import { AccessTokens } from './access-tokens.js';
import { IdentifierResolver } from './actors.js';
import type { ClientRegistry } from './clients.js';
import { invalidToken } from './oauth-errors.js';
import type { Principal } from './principal.js';
import type { SigningKeys } from './signing-keys.js';
import { grantToken } from './token-endpoint.js';

export interface AuthSetup {
  /** Current and previous token-signing keys; replaced in place when the key file changes (auth-reload.ts). */
  readonly signingKeys: SigningKeys;
  readonly clients: ClientRegistry;
}

export interface AuthServiceOptions extends AuthSetup {
  readonly config: AuthConfig;
  /** `iss` of our tokens (and the root of the token URL). */
  readonly issuer: string;
  /** `aud` of our tokens: the FHIR base URL. */
  readonly audience: string;
}

export interface TokenAnswer {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

export class AuthService {
  readonly tokens: AccessTokens;
  private readonly resolver = new IdentifierResolver();

  constructor(private readonly options: AuthServiceOptions) {
    this.tokens = new AccessTokens({
      issuer: options.issuer,
      audience: options.audience,
      lifetimeSeconds: options.config.tokenLifetime,
      signingKeys: options.signingKeys,
      clients: options.clients,
      external: options.config.external,
    });
  }

  get issuer(): string {
    return this.options.issuer;
  }

  get clients(): ClientRegistry {
    return this.options.clients;
  }

  /** The token URLs an assertion may name as its audience. */
  tokenUrls(requestOrigin: string): string[] {
    return [...new Set([`${this.options.issuer}/auth/token`, `${requestOrigin}/auth/token`])];
  }

  /** Handles a token request; OAuth errors as OperationOutcomeErrors (oauth-errors.ts). */
  async token(db: Queryable, form: Readonly<Record<string, string>>, tokenUrls: readonly string[]): Promise<{ answer: TokenAnswer; principal: Principal }> {
    const { principal } = await grantToken(
      db,
      {
        clients: this.options.clients,
        assertionAlgorithms: this.options.config.assertionAlgorithms,
        breakTheGlassRoles: this.options.config.breakTheGlassRoles,
      },
      form,
      tokenUrls
    );
    const issued = await this.tokens.issue(principal);
    return {
      answer: { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: principal.scopes.toString() },
      principal: await this.resolve(db, { ...principal, tokenId: issued.jti }),
    };
  }

  /** The principal behind an Authorization header; 401 without a valid bearer token. */
  async authenticate(db: Queryable, authorization: string | undefined): Promise<Principal> {
    const match = authorization === undefined ? null : /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
    if (!match) {
      throw invalidToken(authorization !== undefined, 'A bearer token is required');
    }
    const principal = await this.tokens.verify(match[1] as string);
    const user = principal.user;
    if (principal.emergency && user && !this.options.config.breakTheGlassRoles.some((r) => r === user.role || r === user.role.slice(user.role.lastIndexOf('|') + 1))) {
      throw invalidToken(true, 'This role may not claim emergency access');
    }
    return this.resolve(db, principal);
  }

  private async resolve(db: Queryable, principal: Principal): Promise<Principal> {
    const user = principal.user;
    if (!user) {
      return principal;
    }
    const organizationRef = await this.resolver.resolve(db, 'Organization', user.organization);
    const practitionerRef = await this.resolver.resolve(db, 'Practitioner', user.identifier);
    return {
      ...principal,
      ...(organizationRef !== undefined ? { organizationRef } : {}),
      ...(practitionerRef !== undefined ? { practitionerRef } : {}),
    };
  }

  jwks(): JSONWebKeySet {
    return this.options.signingKeys.jwks();
  }

  /**
   * The SMART configuration (https://hl7.org/fhir/smart-app-launch/conformance.html): endpoints,
   * grant type, client authentication with its algorithms, and the scopes on offer.
   */
  smartConfiguration(): Record<string, unknown> {
    const scopes = new Set<string>();
    for (const client of this.options.clients.all()) {
      client.registration.scopes.forEach((s) => scopes.add(s));
    }
    return {
      issuer: this.options.issuer,
      jwks_uri: `${this.options.issuer}/auth/jwks`,
      token_endpoint: `${this.options.issuer}/auth/token`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...this.options.config.assertionAlgorithms],
      access_token_signing_alg_values_supported: this.options.signingKeys.algorithms,
      scopes_supported: [...scopes].sort(),
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2', 'permission-user'],
    };
  }
}
