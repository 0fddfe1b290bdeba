/**
 * Token revocation for SMART apps (RFC 7009, POST /auth/revoke): a refresh token or an access
 * token of an app's grant ends the whole grant, its refresh tokens and its access tokens (RFC 7009
 * §2.1: revoking one "SHOULD also invalidate" the others of the same authorization). Transport-free.
 */
import type { Queryable } from '../storage/database.js';
import type { AccessTokens } from './access-tokens.js';
import { grantOfRefreshToken, revokeGrant } from './app-grants.js';
import { isPublicClient, type RegisteredClient } from './clients.js';
import { oauthError } from './oauth-errors.js';

/**
 * Revokes the grant behind `token` when it belongs to the client. Unknown, expired or foreign
 * tokens are not an error (RFC 7009 §2.2: the server responds 200 "if the token has been revoked
 * successfully or if the client submitted an invalid token"); an unknown client is (401).
 */
export async function revokeToken(
  db: Queryable,
  form: Readonly<Record<string, string>>,
  findClient: (clientId: string) => RegisteredClient | undefined,
  tokens: AccessTokens
): Promise<void> {
  const clientId = form['client_id'];
  const client = clientId === undefined || clientId === '' ? undefined : findClient(clientId);
  if (!client || !isPublicClient(client)) {
    throw oauthError('invalid_client', 'Unknown client, or not a public client (send client_id)');
  }
  const token = form['token'];
  if (token === undefined || token === '') {
    throw oauthError('invalid_request', 'token is required');
  }
  // token_type_hint is only a hint (RFC 7009 §2.1): both kinds are tried.
  const refresh = await grantOfRefreshToken(db, token);
  if (refresh) {
    if (refresh.clientId === clientId) {
      await revokeGrant(db, refresh.grantId);
    }
    return;
  }
  const principal = await tokens.verify(token).catch(() => undefined);
  if (principal?.grantId !== undefined && principal.clientId === clientId) {
    await revokeGrant(db, principal.grantId);
  }
}
