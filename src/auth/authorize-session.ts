/**
 * An authorization request between its steps (the login, then for a standalone launch the patient
 * pick), carried by the browser as a short-lived JWT signed with Schakel's own token key rather
 * than kept in a table: any node can continue it, and the user cannot change what the app asked
 * for, nor who logged in, without breaking the signature. Its own `typ` and audience keep it from
 * ever passing for an access token (access-tokens.ts accepts `at+jwt` for the FHIR base only).
 */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { LaunchContext } from './app-grants.js';
import type { AuthorizeRequest } from './authorize-request.js';
import { formatIdentifier, ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser } from './principal.js';
import type { SigningKeys } from './signing-keys.js';

const SESSION_TYPE = 'authorize-session+jwt';
/** Long enough to log in at an external identity provider, short enough to be useless later. */
const SESSION_SECONDS = 600;

export interface AuthorizeSession {
  readonly request: AuthorizeRequest;
  /** The logged-in user, once known. */
  readonly user?: ActingUser;
  /** OpenID Connect nonce sent to the external identity provider (external-login.ts). */
  readonly nonce?: string;
}

export class AuthorizeSessions {
  constructor(
    private readonly signingKeys: SigningKeys,
    /** Schakel's issuer; sessions are addressed to its /auth/authorize. */
    private readonly issuer: string
  ) {}

  private get audience(): string {
    return `${this.issuer}/auth/authorize`;
  }

  /** A new nonce for an external login. */
  static nonce(): string {
    return randomBytes(16).toString('base64url');
  }

  async seal(session: AuthorizeSession): Promise<string> {
    const key = this.signingKeys.current;
    const { request, user, nonce } = session;
    return new SignJWT({
      request: { ...request },
      ...(user ? { user: { id: formatIdentifier(user.identifier), role: user.role, organization: formatIdentifier(user.organization), ...(user.name !== undefined ? { name: user.name } : {}) } } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SESSION_TYPE })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(`${SESSION_SECONDS}s`)
      .sign(key.privateKey);
  }

  /** The session a sealed value stands for; undefined when it does not verify or has expired. */
  async open(sealed: unknown): Promise<AuthorizeSession | undefined> {
    if (typeof sealed !== 'string' || sealed === '') {
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(sealed, this.signingKeys.verifier, {
        issuer: this.issuer,
        audience: this.audience,
        typ: SESSION_TYPE,
        algorithms: this.signingKeys.algorithms,
        requiredClaims: ['exp'],
      });
      const request = requestOf(payload['request']);
      if (!request) {
        return undefined;
      }
      const user = userOf(payload['user']);
      return { request, ...(user ? { user } : {}), ...(typeof payload['nonce'] === 'string' ? { nonce: payload['nonce'] } : {}) };
    } catch {
      return undefined;
    }
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function requestOf(value: unknown): AuthorizeRequest | undefined {
  if (value === null || typeof value !== 'object') {
    return undefined;
  }
  const r = value as Record<string, unknown>;
  const clientId = text(r['clientId']);
  const redirectUri = text(r['redirectUri']);
  const scope = text(r['scope']);
  const codeChallenge = text(r['codeChallenge']);
  if (clientId === undefined || redirectUri === undefined || scope === undefined || codeChallenge === undefined) {
    return undefined;
  }
  const launch = r['launch'] as Record<string, unknown> | undefined;
  const patientId = text(launch?.['patientId']);
  const encounterId = text(launch?.['encounterId']);
  const context: LaunchContext | undefined = patientId === undefined ? undefined : { patientId, ...(encounterId !== undefined ? { encounterId } : {}) };
  const state = text(r['state']);
  return { clientId, redirectUri, scope, codeChallenge, pickPatient: r['pickPatient'] === true, ...(state !== undefined ? { state } : {}), ...(context ? { launch: context } : {}) };
}

function userOf(value: unknown): ActingUser | undefined {
  if (value === null || typeof value !== 'object') {
    return undefined;
  }
  const u = value as Record<string, unknown>;
  const identifier = parseIdentifier(u['id'], PRACTITIONER_SYSTEMS);
  const organization = parseIdentifier(u['organization'], ORGANIZATION_SYSTEMS);
  const role = text(u['role']);
  const name = text(u['name']);
  return identifier && organization && role !== undefined ? { identifier, role, organization, ...(name !== undefined ? { name } : {}) } : undefined;
}
