/**
 * The token endpoint for SMART apps (public clients): `grant_type=authorization_code` with the
 * PKCE verifier (https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token;
 * RFC 6749 §4.1.3, RFC 7636 §4.6) and `grant_type=refresh_token` with rotation
 * (https://hl7.org/fhir/smart-app-launch/app-launch.html#refresh-access-token; RFC 6749 §6).
 * Transport-free; service.ts turns the grant into tokens. A public client authenticates with its
 * client_id only (RFC 6749 §3.2.1); what binds the code to the app is the redirect URI and the
 * verifier only the app holds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../storage/database.js';
import { redeemCode, useRefreshToken, type AppGrant } from './app-grants.js';
import { isPublicClient, type RegisteredClient } from './clients.js';
import { oauthError } from './oauth-errors.js';

/** RFC 7636 §4.1: 43-128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export const APP_GRANT_TYPES: ReadonlySet<string> = new Set(['authorization_code', 'refresh_token']);

function field(form: Readonly<Record<string, string>>, name: string): string | undefined {
  const value = form[name];
  return value === undefined || value === '' ? undefined : value;
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

function publicClient(form: Readonly<Record<string, string>>, findClient: (id: string) => RegisteredClient | undefined): RegisteredClient {
  const clientId = field(form, 'client_id');
  const client = clientId === undefined ? undefined : findClient(clientId);
  if (!client || !isPublicClient(client)) {
    throw oauthError('invalid_client', 'Unknown client, or not a public client (send client_id)');
  }
  return client;
}

/**
 * Checks an authorization_code or refresh_token request and answers the grant to issue tokens
 * for. OAuth errors: invalid_client (401), invalid_request, invalid_grant.
 */
export async function appTokenGrant(db: Queryable, form: Readonly<Record<string, string>>, findClient: (id: string) => RegisteredClient | undefined): Promise<AppGrant> {
  const client = publicClient(form, findClient);
  const clientId = client.registration.clientId;
  if (field(form, 'grant_type') === 'refresh_token') {
    const token = field(form, 'refresh_token');
    if (token === undefined) {
      throw oauthError('invalid_request', 'refresh_token is required');
    }
    const grant = await useRefreshToken(db, token);
    if (grant === 'reused') {
      throw oauthError('invalid_grant', 'This refresh token was used before: every token of its login is revoked');
    }
    if (!grant || grant.clientId !== clientId) {
      throw oauthError('invalid_grant', 'The refresh token is not valid for this client');
    }
    return grant;
  }
  const code = field(form, 'code');
  const redirectUri = field(form, 'redirect_uri');
  const verifier = field(form, 'code_verifier');
  if (code === undefined || redirectUri === undefined || verifier === undefined) {
    throw oauthError('invalid_request', 'code, redirect_uri and code_verifier are required');
  }
  // The code is spent by this request whatever follows: a wrong verifier or redirect URI does not
  // leave it for a second try.
  const redeemed = await redeemCode(db, code);
  if (redeemed === 'reused') {
    throw oauthError('invalid_grant', 'This code was used before: the tokens issued for it are revoked');
  }
  if (!redeemed || redeemed.grant.clientId !== clientId || redeemed.redirectUri !== redirectUri) {
    throw oauthError('invalid_grant', 'The code is not valid for this client and redirect_uri');
  }
  if (!VERIFIER.test(verifier) || !verifierMatches(verifier, redeemed.codeChallenge)) {
    throw oauthError('invalid_grant', 'The code_verifier does not match the code_challenge');
  }
  return redeemed.grant;
}
