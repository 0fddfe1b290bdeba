/**
 * Client and user assertions at the token endpoint (SMART Backend Services,
 * https://hl7.org/fhir/smart-app-launch/backend-services.html#request-access-token; RFC 7523):
 * a JWT signed with a key of the client's registered JWKS, iss = sub = client id (for the user
 * assertion: iss = client id, sub = the professional), aud = the token URL, exp at most five
 * minutes ahead, and a jti that is never accepted twice. jose checks signature, algorithm
 * allow-list (no `none`, no HMAC: the keys are asymmetric), iss, sub, aud and exp.
 */
import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Queryable } from '../storage/database.js';
import type { RegisteredClient } from './clients.js';
import { claimJti } from './jti-store.js';
import { oauthError } from './oauth-errors.js';

/** SMART: "exp ... no more than five minutes in the future". */
const MAX_LIFETIME_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 5;

/** The client id an assertion claims, before anything is verified (to find its keys). */
export function claimedClientId(assertion: string): string | undefined {
  try {
    const claims = decodeJwt(assertion);
    return typeof claims.iss === 'string' ? claims.iss : undefined;
  } catch {
    return undefined;
  }
}

export interface AssertionCheck {
  readonly client: RegisteredClient;
  readonly tokenUrls: readonly string[];
  readonly algorithms: readonly string[];
  /** The expected `sub`: the client id for a client assertion; any for a user assertion. */
  readonly subject: string | undefined;
  readonly kind: 'client' | 'user';
}

/** Verifies an assertion and burns its jti; an OAuth error otherwise. */
export async function verifyAssertion(db: Queryable, assertion: string, check: AssertionCheck): Promise<JWTPayload> {
  const clientId = check.client.registration.clientId;
  const failure = check.kind === 'client' ? 'invalid_client' : 'invalid_grant';
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, check.client.keys, {
      algorithms: [...check.algorithms],
      issuer: clientId,
      audience: [...check.tokenUrls],
      ...(check.subject !== undefined ? { subject: check.subject } : {}),
      requiredClaims: ['exp', 'jti', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    const reason = error instanceof errors.JOSEError ? error.code : 'malformed';
    throw oauthError(failure, `The ${check.kind} assertion was not accepted (${reason})`);
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = payload.exp as number;
  if (exp - now > MAX_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw oauthError(failure, `A ${check.kind} assertion may be valid for at most five minutes`);
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) {
    throw oauthError(failure, `The ${check.kind} assertion needs a jti`);
  }
  if (!(await claimJti(db, `${check.kind}:${clientId}:${payload.jti}`, new Date((exp + CLOCK_TOLERANCE_SECONDS) * 1000)))) {
    throw oauthError(failure, `The ${check.kind} assertion was used before (jti)`);
  }
  return payload;
}
