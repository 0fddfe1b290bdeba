/**
 * The checks of an authorization request at /auth/authorize (SMART App Launch,
 * https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code; RFC 6749
 * §4.1.1, RFC 7636). Transport-free: http/app-launch-routes.ts hands in the parameters.
 *
 * RFC 6749 §4.1.2.1: with a missing or unknown client_id or a redirect_uri that is not exactly one
 * the client registered, the user agent is NOT redirected (the error is answered here, 400);
 * every other error goes back to the app's redirect URI with `error` and the app's `state`.
 */
import type { Queryable } from '../storage/database.js';
import { resolveLaunch, type LaunchContext } from './app-grants.js';
import { isPublicClient, type RegisteredClient } from './clients.js';
import { grantScopes } from './scopes.js';

/** Scopes that are not about resources and that Schakel grants to an app. */
const OTHER_SCOPES: ReadonlySet<string> = new Set(['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access']);
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export type AuthorizeErrorCode = 'invalid_request' | 'unauthorized_client' | 'access_denied' | 'unsupported_response_type' | 'invalid_scope' | 'server_error';

/** A valid request: what the login and the code will carry. */
export interface AuthorizeRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state?: string;
  /** The scopes granted (resource scopes cut down to the registration, then the others). */
  readonly scope: string;
  readonly codeChallenge: string;
  /** The EHR launch context, when a `launch` value was given. */
  readonly launch?: LaunchContext;
  /** Standalone launch asking for a patient: the user picks one after logging in. */
  readonly pickPatient: boolean;
}

export type AuthorizeCheck =
  | { readonly ok: AuthorizeRequest }
  /** Answered to the user agent (400): the redirect URI cannot be trusted. */
  | { readonly refuse: AuthorizeErrorCode; readonly description: string }
  /** Sent to the app's redirect URI. */
  | { readonly redirect: string; readonly error: AuthorizeErrorCode; readonly description: string; readonly state?: string };

export interface AuthorizeSettings {
  readonly findClient: (clientId: string) => RegisteredClient | undefined;
  /** The FHIR base URL the app must name as `aud`. */
  readonly audience: string;
}

type Params = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A parameter given at most once: its value (undefined when absent or empty), or TWICE. */
const TWICE = Symbol('twice');

function single(params: Params, name: string): string | undefined | typeof TWICE {
  const value = params[name];
  if (Array.isArray(value)) {
    return TWICE;
  }
  return value === undefined || value === '' ? undefined : (value as string);
}

function withoutSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The scopes an app gets: user/ resource scopes as the client registered them (scopes.ts), and
 * the supported others. `patient/` scopes are left out rather than refused: Schakel narrows every
 * user by care relation (access-scope.ts), not by one patient's compartment, so it grants the
 * user/ form only (the server may grant fewer scopes than asked, RFC 6749 §3.3).
 */
export function appScopes(requested: string, client: RegisteredClient, hasLaunch: boolean): { scope: string } | { invalid: string } {
  const words = requested.split(/\s+/).filter((s) => s !== '');
  const resource = words.filter((w) => !w.startsWith('patient/') && !OTHER_SCOPES.has(w));
  const result = grantScopes(resource.join(' '), client.registration.scopes, 'user');
  if ('invalid' in result) {
    return { invalid: result.invalid };
  }
  const others = words.filter((w) => OTHER_SCOPES.has(w) && (w !== 'launch' || hasLaunch));
  const text = [result.granted.toString(), ...new Set(others)].filter((s) => s !== '').join(' ');
  return result.granted.scopes.length === 0 ? { invalid: requested } : { scope: text };
}

/** Checks an authorization request; resolves its launch value against the database. */
export async function checkAuthorizeRequest(db: Queryable, params: Params, settings: AuthorizeSettings): Promise<AuthorizeCheck> {
  const clientId = single(params, 'client_id');
  const redirectUri = single(params, 'redirect_uri');
  if (clientId === undefined || clientId === TWICE || redirectUri === TWICE) {
    return { refuse: 'invalid_request', description: 'client_id is required, once' };
  }
  const client = settings.findClient(clientId);
  if (!client || !isPublicClient(client)) {
    return { refuse: 'unauthorized_client', description: 'Unknown client, or not one registered for the authorization code flow' };
  }
  // Exact string match: no prefix, no normalisation (OAuth 2.0 Security BCP, RFC 9700 §4.1.3).
  if (redirectUri === undefined || !(client.registration.redirectUris ?? []).includes(redirectUri)) {
    return { refuse: 'invalid_request', description: 'redirect_uri must be exactly one the client registered' };
  }
  const stateValue = single(params, 'state');
  const state = stateValue === TWICE ? undefined : stateValue;
  const fail = (error: AuthorizeErrorCode, description: string): AuthorizeCheck => ({ redirect: redirectUri, error, description, ...(state !== undefined ? { state } : {}) });
  if (stateValue === TWICE) {
    return fail('invalid_request', 'state is given twice');
  }
  const names = ['response_type', 'scope', 'aud', 'code_challenge', 'code_challenge_method', 'launch'] as const;
  const values: Partial<Record<(typeof names)[number], string>> = {};
  for (const name of names) {
    const value = single(params, name);
    if (value === TWICE) {
      // RFC 6749 §3.1: request parameters MUST NOT be included more than once.
      return fail('invalid_request', `${name} is given twice`);
    }
    if (value !== undefined) {
      values[name] = value;
    }
  }
  if (values.response_type !== 'code') {
    return fail('unsupported_response_type', 'Only response_type=code is supported');
  }
  if (values.code_challenge_method !== 'S256' || values.code_challenge === undefined || !S256_CHALLENGE.test(values.code_challenge)) {
    // SMART App Launch: PKCE with S256 is required; `plain` SHALL NOT be supported.
    return fail('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
  }
  if (values.aud === undefined || withoutSlash(values.aud) !== withoutSlash(settings.audience)) {
    return fail('invalid_request', 'aud must be the FHIR base URL of this server');
  }
  let launch: LaunchContext | undefined;
  if (values.launch !== undefined) {
    launch = await resolveLaunch(db, values.launch);
    if (!launch) {
      return fail('invalid_request', 'The launch value is unknown or has expired');
    }
  }
  const scopes = appScopes(values.scope ?? '', client, launch !== undefined);
  if ('invalid' in scopes) {
    return fail('invalid_scope', 'Ask for at least one user/ scope this app is registered for, and only valid scopes');
  }
  const words = new Set(scopes.scope.split(' '));
  return {
    ok: {
      clientId,
      redirectUri,
      ...(state !== undefined ? { state } : {}),
      scope: scopes.scope,
      codeChallenge: values.code_challenge,
      ...(launch ? { launch } : {}),
      pickPatient: launch === undefined && words.has('launch/patient'),
    },
  };
}

/** The URL that carries an authorization response (code or error) back to the app. */
export function redirectWith(redirectUri: string, fields: Readonly<Record<string, string | undefined>>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) {
      url.searchParams.set(name, value);
    }
  }
  return url.toString();
}
