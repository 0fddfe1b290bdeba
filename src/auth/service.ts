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
import { ClientRegistry, type ClientRegistration, type RegisteredClient } from './clients.js';
import { invalidToken } from './oauth-errors.js';
import type { Principal } from './principal.js';
import type { SigningKeys } from './signing-keys.js';
import { grantToken } from './token-endpoint.js';
import { grantActive, issueRefreshToken } from './app-grants.js';
import { APP_GRANT_TYPES, appTokenGrant } from './app-token.js';
import { AuthorizeSessions } from './authorize-session.js';
import { ExternalLogin } from './external-login.js';
import { issueIdToken } from './id-tokens.js';
import { ScopeSet } from './scopes.js';

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
  /** Public app clients registered at start besides the registry (development's console, demo-clients.ts). */
  readonly appClients?: readonly ClientRegistration[];
}

export interface TokenAnswer {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  /** SMART App Launch context and identity (app-token.ts): */
  readonly patient?: string;
  readonly encounter?: string;
  readonly fhirUser?: string;
  readonly id_token?: string;
  readonly refresh_token?: string;
}

export class AuthService {
  readonly tokens: AccessTokens;
  private readonly resolver = new IdentifierResolver();
  /** Authorization requests between login steps (authorize-session.ts). */
  readonly sessions: AuthorizeSessions;
  /** The external OpenID Connect login for apps' users, when configured (external-login.ts). */
  readonly externalLogin: ExternalLogin | undefined;
  private readonly appClients: ClientRegistry;

  constructor(private readonly options: AuthServiceOptions) {
    this.sessions = new AuthorizeSessions(options.signingKeys, options.issuer);
    this.appClients = new ClientRegistry(options.appClients ?? []);
    const { external, externalLogin } = options.config;
    this.externalLogin = external && externalLogin ? new ExternalLogin({ issuer: external.issuer, jwksUrl: external.jwksUrl, ...externalLogin }) : undefined;
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

  /** The FHIR base URL: `aud` of our tokens, and what an app must name as `aud` at /auth/authorize. */
  get audience(): string {
    return this.options.audience;
  }

  /** Lifetime of our access tokens in seconds. */
  get tokenLifetime(): number {
    return this.options.config.tokenLifetime;
  }

  /** A registered client, or one of the app clients registered at start. */
  findClient(clientId: string): RegisteredClient | undefined {
    return this.options.clients.find(clientId) ?? this.appClients.find(clientId);
  }

  /** The token URLs an assertion may name as its audience. */
  tokenUrls(requestOrigin: string): string[] {
    return [...new Set([`${this.options.issuer}/auth/token`, `${requestOrigin}/auth/token`])];
  }

  /** Handles a token request; OAuth errors as OperationOutcomeErrors (oauth-errors.ts). */
  async token(db: Queryable, form: Readonly<Record<string, string>>, tokenUrls: readonly string[]): Promise<{ answer: TokenAnswer; principal: Principal }> {
    if (APP_GRANT_TYPES.has(form['grant_type'] ?? '')) {
      return this.appToken(db, form);
    }
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

  /**
   * Tokens for a SMART app (authorization code or refresh token, app-token.ts): the user's
   * principal exactly as a user assertion gives it, tied to the grant so revocation ends it.
   */
  private async appToken(db: Queryable, form: Readonly<Record<string, string>>): Promise<{ answer: TokenAnswer; principal: Principal }> {
    const grant = await appTokenGrant(db, form, (id) => this.findClient(id));
    const words = new Set(grant.scope.split(' '));
    const principal = await this.resolve(db, { kind: 'user', clientId: grant.clientId, scopes: ScopeSet.parse(grant.scope), user: grant.user, grantId: grant.id });
    const issued = await this.tokens.issue(principal);
    const fhirUser = principal.practitionerRef === undefined ? undefined : `${this.options.audience}/${principal.practitionerRef}`;
    const idToken =
      words.has('openid') && words.has('fhirUser')
        ? await issueIdToken(this.options.signingKeys, this.options.issuer, this.options.config.tokenLifetime, { clientId: grant.clientId, user: grant.user, fhirUser })
        : undefined;
    const refreshToken = words.has('offline_access') || words.has('online_access') ? await issueRefreshToken(db, grant.id) : undefined;
    return {
      answer: {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: grant.scope,
        ...(grant.patientId !== undefined ? { patient: grant.patientId } : {}),
        ...(grant.encounterId !== undefined ? { encounter: grant.encounterId } : {}),
        ...(fhirUser !== undefined ? { fhirUser } : {}),
        ...(idToken !== undefined ? { id_token: idToken } : {}),
        ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
      },
      principal: { ...principal, tokenId: issued.jti },
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
    // An app's token lives only as long as its grant (app-grants.ts): one indexed lookup, on every
    // request, since the verified-token cache cannot know of a revocation on another node.
    if (principal.grantId !== undefined && !(await grantActive(db, principal.grantId))) {
      throw invalidToken(true, 'The bearer token has been revoked');
    }
    return this.resolve(db, principal);
  }

  /** The principal with the user's Organization and Practitioner looked up by identifier. */
  async resolve(db: Queryable, principal: Principal): Promise<Principal> {
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
      authorization_endpoint: `${this.options.issuer}/auth/authorize`,
      token_endpoint: `${this.options.issuer}/auth/token`,
      revocation_endpoint: `${this.options.issuer}/auth/revoke`,
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: [...this.options.config.assertionAlgorithms],
      access_token_signing_alg_values_supported: this.options.signingKeys.algorithms,
      scopes_supported: [...[...scopes].sort(), 'openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access'],
      capabilities: [
        'client-confidential-asymmetric',
        'permission-v1',
        'permission-v2',
        'permission-user',
        'permission-offline',
        'permission-online',
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'context-ehr-patient',
        'context-standalone-patient',
        'sso-openid-connect',
        'authorize-post',
      ],
    };
  }
}
