/**
 * The SMART App Launch 2.x client (https://hl7.org/fhir/smart-app-launch/app-launch.html):
 * discovery at `{iss}/.well-known/smart-configuration`, the authorization request with PKCE S256
 * and `state`, the code exchanged at the token endpoint, the refresh token used before the access
 * token expires. The verifier, state and where to return live in sessionStorage across the
 * redirect only (as the spec's own examples keep them), and are removed once used; tokens stay
 * in memory (session.ts).
 */
import { codeChallenge, jwtClaims, randomToken } from './pkce.js';
import { currentSession, setSession, type Session } from './session.js';

export const CLIENT_ID = 'schakel-console';
const PENDING_KEY = 'schakel-console:pending-launch';
/** Refresh this many seconds before the access token expires. */
const REFRESH_MARGIN_S = 60;

interface SmartConfiguration {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

interface PendingLaunch {
  readonly state: string;
  readonly verifier: string;
  readonly iss: string;
  readonly tokenEndpoint: string;
  readonly redirectUri: string;
  /** The console page to show after signing in (its hash route). */
  readonly returnTo: string;
}

interface TokenResponse {
  readonly access_token?: unknown;
  readonly expires_in?: unknown;
  readonly refresh_token?: unknown;
  readonly scope?: unknown;
  readonly patient?: unknown;
  readonly fhirUser?: unknown;
  readonly id_token?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

export class LaunchError extends Error {}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The FHIR base of the server that serves the console, absolute. */
export function fhirBase(): string {
  const path = document.querySelector<HTMLMetaElement>('meta[name="fhir-base"]')?.content ?? '/fhir';
  return `${location.origin}${path.startsWith('/') ? path : '/fhir'}`;
}

/** The console's redirect URI: its own address without query or fragment (`<PUBLIC_BASE_URL>/app/`). */
export function redirectUri(): string {
  return `${location.origin}${location.pathname}`;
}

async function discover(iss: string): Promise<SmartConfiguration> {
  const response = await fetch(`${iss.replace(/\/$/, '')}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
  const body = (await response.json()) as Partial<Record<keyof SmartConfiguration, unknown>>;
  const authorization = text(body.authorization_endpoint);
  const token = text(body.token_endpoint);
  if (!response.ok || authorization === undefined || token === undefined) {
    throw new LaunchError('De server noemt geen autorisatie- of tokenadres (smart-configuration).');
  }
  return { authorization_endpoint: authorization, token_endpoint: token };
}

export interface AuthorizeOptions {
  /** `launch` of an EHR launch. */
  readonly launch?: string | undefined;
  /** Ask the user to choose a patient (standalone launch, `launch/patient`). */
  readonly needPatient?: boolean;
  readonly returnTo?: string;
}

/**
 * Starts the authorization: to the authorization endpoint of `iss`, which must be the server that
 * serves the console (the console is one of its pages; a foreign `iss` would get the user's token).
 */
export async function authorize(options: AuthorizeOptions = {}): Promise<never> {
  const iss = fhirBase();
  const config = await discover(iss);
  const verifier = randomToken(48);
  const state = randomToken(24);
  const pending: PendingLaunch = { state, verifier, iss, tokenEndpoint: config.token_endpoint, redirectUri: redirectUri(), returnTo: options.returnTo ?? location.hash };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  // An EHR launch asks for the EHR's patient too (launch/patient); a standalone launch only when a page needs one.
  const scope = ['openid', 'fhirUser', 'user/*.cruds', 'offline_access', ...(options.launch !== undefined ? ['launch', 'launch/patient'] : options.needPatient ? ['launch/patient'] : [])];
  const url = new URL(config.authorization_endpoint, location.href);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: pending.redirectUri,
    scope: scope.join(' '),
    state,
    aud: iss,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(options.launch !== undefined ? { launch: options.launch } : {}),
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => undefined);
}

function sessionFrom(body: TokenResponse, pending: { tokenEndpoint: string }, previous?: Session): Session {
  const accessToken = text(body.access_token);
  if (accessToken === undefined) {
    throw new LaunchError(`Geen toegangstoken ontvangen${text(body.error) ? ` (${String(body.error)})` : ''}.`);
  }
  const idClaims = text(body.id_token) ? jwtClaims(String(body.id_token)) : {};
  const fhirUser = text(body.fhirUser) ?? text(idClaims['fhirUser']) ?? previous?.fhirUser;
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
  return {
    accessToken,
    expiresAt: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
    refreshToken: text(body.refresh_token) ?? previous?.refreshToken,
    scope: text(body.scope) ?? previous?.scope ?? '',
    // fhirUser is absolute (the FHIR base plus Type/id); the console keeps the relative reference.
    fhirUser: fhirUser === undefined ? undefined : /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(fhirUser)?.[1],
    patient: text(body.patient) ?? previous?.patient,
    userName: text(idClaims['name']) ?? previous?.userName,
    tokenEndpoint: pending.tokenEndpoint,
    clientId: CLIENT_ID,
  };
}

async function tokenRequest(endpoint: string, form: Record<string, string>): Promise<TokenResponse> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as TokenResponse;
  if (!response.ok) {
    throw new LaunchError(`Aanmelden geweigerd: ${text(body.error_description) ?? text(body.error) ?? response.status}`);
  }
  return body;
}

/**
 * Completes the redirect back from the authorization server: `state` must be the one this tab
 * sent (RFC 6749 section 10.12), then the code and verifier go to the token endpoint. Returns the
 * hash route to show, undefined when the address holds no authorization response.
 */
export async function completeAuthorization(params: URLSearchParams): Promise<string | undefined> {
  const code = params.get('code');
  const error = params.get('error');
  if (code === null && error === null) {
    return undefined;
  }
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  // The code must not stay in the address bar or the history.
  history.replaceState(null, '', redirectUri());
  const pending = raw === null ? undefined : (JSON.parse(raw) as PendingLaunch);
  if (pending === undefined || params.get('state') !== pending.state) {
    throw new LaunchError('Het antwoord van de autorisatieserver hoort niet bij deze aanmelding (state).');
  }
  if (error !== null) {
    throw new LaunchError(`Aanmelden mislukt: ${params.get('error_description') ?? error}`);
  }
  const body = await tokenRequest(pending.tokenEndpoint, {
    grant_type: 'authorization_code',
    code: code ?? '',
    redirect_uri: pending.redirectUri,
    client_id: CLIENT_ID,
    code_verifier: pending.verifier,
  });
  setSession(sessionFrom(body, pending));
  return pending.returnTo;
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;

/** Refreshes the access token a minute before it expires, while there is a refresh token. */
export function scheduleRefresh(): void {
  if (refreshTimer !== undefined) {
    clearTimeout(refreshTimer);
  }
  const session = currentSession();
  if (session?.refreshToken === undefined || session.expiresAt === undefined || session.tokenEndpoint === undefined) {
    return;
  }
  const delayMs = Math.max(0, (session.expiresAt - REFRESH_MARGIN_S) * 1000 - Date.now());
  refreshTimer = setTimeout(() => void refresh(session), delayMs);
}

async function refresh(session: Session): Promise<void> {
  if (session.refreshToken === undefined || session.tokenEndpoint === undefined) {
    return;
  }
  try {
    const body = await tokenRequest(session.tokenEndpoint, { grant_type: 'refresh_token', refresh_token: session.refreshToken, client_id: CLIENT_ID });
    setSession(sessionFrom(body, { tokenEndpoint: session.tokenEndpoint }, session));
    scheduleRefresh();
  } catch {
    // The page shows "sign in again" on the next 401 (fhir-client.ts).
  }
}
