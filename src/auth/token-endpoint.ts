/**
 * POST /auth/token (SMART Backend Services, client_credentials with private_key_jwt,
 * https://hl7.org/fhir/smart-app-launch/backend-services.html). Transport-free: http/ hands in
 * the form fields and the token URL, and writes the answer or the OAuth error.
 *
 * A vendor system acting for a professional adds `user_assertion`, a JWT signed with the same
 * client keys that names the user (sub: UZI/BIG/AGB as system|value) with `role`, `organization`
 * (URA/AGB) and optionally `responsible`, `name`, and `purpose_of_use: "BTG"` with a `reason` for
 * emergency access. The client vouches for the user; the organisation must be one the client is
 * registered for. Without a user assertion the token holds only `system/` scopes.
 */
import type { JWTPayload } from 'jose';
import type { Queryable } from '../storage/database.js';
import { claimedClientId, verifyAssertion } from './assertions.js';
import type { ClientRegistry, RegisteredClient } from './clients.js';
import { oauthError } from './oauth-errors.js';
import { ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser, type Principal } from './principal.js';
import { grantScopes } from './scopes.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** HL7 v3 ActReason "break the glass" (https://terminology.hl7.org/CodeSystem-v3-ActReason.html#v3-ActReason-BTG). */
export const BREAK_THE_GLASS = 'BTG';

export interface TokenEndpointSettings {
  readonly clients: ClientRegistry;
  readonly assertionAlgorithms: readonly string[];
  readonly breakTheGlassRoles: readonly string[];
}

/** What the token endpoint decided: the principal the token will stand for. */
export interface TokenGrant {
  readonly principal: Principal;
}

function field(form: Readonly<Record<string, string>>, name: string): string | undefined {
  const value = form[name];
  return value === undefined || value === '' ? undefined : value;
}

function roleCode(role: string): string {
  return role.slice(role.lastIndexOf('|') + 1);
}

function actingUser(claims: JWTPayload, client: RegisteredClient): ActingUser {
  const identifier = parseIdentifier(claims.sub, PRACTITIONER_SYSTEMS);
  const organization = parseIdentifier(claims['organization'], ORGANIZATION_SYSTEMS);
  const role = claims['role'];
  if (!identifier || !organization || typeof role !== 'string' || role === '') {
    throw oauthError('invalid_grant', 'The user assertion needs sub (UZI, BIG or AGB as system|value), role and organization (URA or AGB)');
  }
  if (!client.organizations.some((o) => o.system === organization.system && o.value === organization.value)) {
    throw oauthError('invalid_grant', 'This client is not registered to act for that organisation');
  }
  const responsible = claims['responsible'] === undefined ? undefined : parseIdentifier(claims['responsible'], PRACTITIONER_SYSTEMS);
  if (claims['responsible'] !== undefined && !responsible) {
    throw oauthError('invalid_grant', 'responsible must be a UZI, BIG or AGB identifier as system|value');
  }
  const name = typeof claims['name'] === 'string' ? claims['name'] : undefined;
  return { identifier, role, organization, ...(responsible ? { responsible } : {}), ...(name !== undefined ? { name } : {}) };
}

/**
 * Checks a token request and answers the principal to issue a token for. OAuth errors:
 * unsupported_grant_type, invalid_request, invalid_client (401), invalid_grant, invalid_scope.
 */
export async function grantToken(
  db: Queryable,
  settings: TokenEndpointSettings,
  form: Readonly<Record<string, string>>,
  tokenUrls: readonly string[]
): Promise<TokenGrant> {
  if (field(form, 'grant_type') !== 'client_credentials') {
    throw oauthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
  }
  const assertion = field(form, 'client_assertion');
  if (field(form, 'client_assertion_type') !== CLIENT_ASSERTION_TYPE || assertion === undefined) {
    throw oauthError('invalid_request', `Authenticate with client_assertion_type=${CLIENT_ASSERTION_TYPE} and a client_assertion`);
  }
  const scope = field(form, 'scope');
  if (scope === undefined) {
    throw oauthError('invalid_scope', 'scope is required');
  }
  const clientId = claimedClientId(assertion);
  const client = clientId === undefined ? undefined : settings.clients.find(clientId);
  if (!client) {
    throw oauthError('invalid_client', 'Unknown client');
  }
  const algorithms = settings.assertionAlgorithms;
  await verifyAssertion(db, assertion, { client, tokenUrls, algorithms, subject: client.registration.clientId, kind: 'client' });

  const userAssertion = field(form, 'user_assertion');
  let user: ActingUser | undefined;
  let emergency: { reason: string } | undefined;
  if (userAssertion !== undefined) {
    const claims = await verifyAssertion(db, userAssertion, { client, tokenUrls, algorithms, subject: undefined, kind: 'user' });
    user = actingUser(claims, client);
    if (claims['purpose_of_use'] === BREAK_THE_GLASS) {
      const reason = claims['reason'];
      if (typeof reason !== 'string' || reason.trim() === '') {
        throw oauthError('invalid_grant', 'Emergency access needs a reason');
      }
      if (!settings.breakTheGlassRoles.includes(roleCode(user.role)) && !settings.breakTheGlassRoles.includes(user.role)) {
        throw oauthError('invalid_grant', 'This role may not claim emergency access');
      }
      emergency = { reason: reason.slice(0, 1000) };
    }
  }
  const result = grantScopes(scope, client.registration.scopes, user ? 'user' : 'system');
  if ('invalid' in result) {
    throw oauthError('invalid_scope', `Scope "${result.invalid}" is not supported`);
  }
  if (result.granted.scopes.length === 0) {
    throw oauthError('invalid_scope', user ? 'None of the requested user/ scopes is registered for this client' : 'None of the requested system/ scopes is registered for this client (user/ scopes need a user_assertion)');
  }
  return {
    principal: {
      kind: user ? 'user' : 'system',
      clientId: client.registration.clientId,
      scopes: result.granted,
      ...(user ? { user } : {}),
      ...(emergency ? { emergency } : {}),
    },
  };
}
