/**
 * What a user granted an app at /auth/authorize (SMART App Launch,
 * https://hl7.org/fhir/smart-app-launch/app-launch.html), kept in the database (023_smart_app_launch.sql)
 * so that any node redeems a code or refresh token and sees a revocation. Codes, refresh tokens
 * and launch values are random 256-bit strings handed out once and stored only as SHA-256 hashes.
 *
 * One-time use is decided by a single UPDATE ... WHERE used IS NULL RETURNING, so two nodes
 * redeeming the same code at the same moment cannot both succeed. A second use of a code or of
 * a rotated refresh token revokes the whole grant: RFC 6749 §4.1.2 ("the authorization server
 * SHOULD revoke ... all tokens previously issued based on that authorization code") and refresh
 * token rotation in the OAuth 2.0 Security BCP (RFC 9700 §4.14.2).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../storage/database.js';
import { formatIdentifier, ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser } from './principal.js';

/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED"; one is plenty for a redirect. */
export const CODE_LIFETIME_SECONDS = 60;
/** An EHR hands the launch value to the app at once; five minutes covers a slow login. */
export const LAUNCH_LIFETIME_SECONDS = 300;
/** online_access: the refresh tokens live as long as a working day's session. */
export const ONLINE_GRANT_SECONDS = 8 * 3600;
/** offline_access: a week without a new login. */
export const OFFLINE_GRANT_SECONDS = 7 * 24 * 3600;

export interface AppGrant {
  readonly id: string;
  readonly clientId: string;
  readonly user: ActingUser;
  /** Every scope granted, resource scopes and the others (openid, fhirUser, launch/patient, ...). */
  readonly scope: string;
  readonly patientId?: string;
  readonly encounterId?: string;
}

interface GrantRow {
  id: string;
  client_id: string;
  acting_user: string;
  scope: string;
  patient_id: string | null;
  encounter_id: string | null;
}

/** A new random secret (code, refresh token, launch value). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function userText(user: ActingUser): string {
  return JSON.stringify({
    id: formatIdentifier(user.identifier),
    role: user.role,
    organization: formatIdentifier(user.organization),
    ...(user.name !== undefined ? { name: user.name } : {}),
  });
}

function userOf(text: string): ActingUser | undefined {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const identifier = parseIdentifier(parsed['id'], PRACTITIONER_SYSTEMS);
  const organization = parseIdentifier(parsed['organization'], ORGANIZATION_SYSTEMS);
  if (!identifier || !organization || typeof parsed['role'] !== 'string') {
    return undefined;
  }
  return { identifier, role: parsed['role'], organization, ...(typeof parsed['name'] === 'string' ? { name: parsed['name'] } : {}) };
}

function grantOf(row: GrantRow): AppGrant | undefined {
  const user = userOf(row.acting_user);
  if (!user) {
    return undefined;
  }
  return {
    id: row.id,
    clientId: row.client_id,
    user,
    scope: row.scope,
    ...(row.patient_id !== null ? { patientId: row.patient_id } : {}),
    ...(row.encounter_id !== null ? { encounterId: row.encounter_id } : {}),
  };
}

/** Records a grant and its authorization code; answers the code (to send to the app once). */
export async function createGrantWithCode(
  db: Queryable,
  grant: Omit<AppGrant, 'id'>,
  code: { readonly redirectUri: string; readonly codeChallenge: string; readonly grantSeconds: number }
): Promise<string> {
  const id = randomUUID();
  const secret = newSecret();
  await db.query(
    `WITH swept AS (DELETE FROM auth_grant WHERE expires_at < now() - interval '1 day')
     INSERT INTO auth_grant (id, client_id, acting_user, scope, patient_id, encounter_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [id, grant.clientId, userText(grant.user), grant.scope, grant.patientId ?? null, grant.encounterId ?? null, code.grantSeconds]
  );
  await db.query(
    `INSERT INTO auth_code (code_hash, grant_id, redirect_uri, code_challenge, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [secretHash(secret), id, code.redirectUri, code.codeChallenge, CODE_LIFETIME_SECONDS]
  );
  return secret;
}

export interface RedeemedCode {
  readonly grant: AppGrant;
  readonly redirectUri: string;
  readonly codeChallenge: string;
}

/**
 * Redeems a code: the first call for an unexpired code answers it; any later call answers
 * `reused` and revokes the grant (tokens issued from the code stop working); an unknown or
 * expired code answers undefined.
 */
export async function redeemCode(db: Queryable, code: string): Promise<RedeemedCode | 'reused' | undefined> {
  const hash = secretHash(code);
  const rows = await db.query<GrantRow & { redirect_uri: string; code_challenge: string }>(
    `WITH redeemed AS (
       UPDATE auth_code SET redeemed_at = now()
        WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > now()
        RETURNING grant_id, redirect_uri, code_challenge)
     SELECT g.id, g.client_id, g.acting_user, g.scope, g.patient_id, g.encounter_id, r.redirect_uri, r.code_challenge
       FROM redeemed r JOIN auth_grant g ON g.id = r.grant_id WHERE g.revoked_at IS NULL`,
    [hash]
  );
  const row = rows[0];
  if (row) {
    const grant = grantOf(row);
    return grant && { grant, redirectUri: row.redirect_uri, codeChallenge: row.code_challenge };
  }
  const used = await db.query<{ grant_id: string }>(`SELECT grant_id FROM auth_code WHERE code_hash = $1 AND redeemed_at IS NOT NULL`, [hash]);
  if (used[0]) {
    await revokeGrant(db, used[0].grant_id);
    return 'reused';
  }
  return undefined;
}

/** A new refresh token of a grant, valid as long as the grant. */
export async function issueRefreshToken(db: Queryable, grantId: string): Promise<string> {
  const secret = newSecret();
  await db.query(
    `INSERT INTO auth_refresh_token (token_hash, grant_id, expires_at)
     SELECT $1, id, expires_at FROM auth_grant WHERE id = $2`,
    [secretHash(secret), grantId]
  );
  return secret;
}

/**
 * Uses a refresh token once: answers its grant the first time, `reused` (and revokes the grant)
 * for a token already exchanged, undefined for an unknown, expired or revoked one.
 */
export async function useRefreshToken(db: Queryable, token: string): Promise<AppGrant | 'reused' | undefined> {
  const hash = secretHash(token);
  const rows = await db.query<GrantRow>(
    `WITH used AS (
       UPDATE auth_refresh_token SET used_at = now()
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
        RETURNING grant_id)
     SELECT g.id, g.client_id, g.acting_user, g.scope, g.patient_id, g.encounter_id
       FROM used u JOIN auth_grant g ON g.id = u.grant_id WHERE g.revoked_at IS NULL AND g.expires_at > now()`,
    [hash]
  );
  if (rows[0]) {
    return grantOf(rows[0]);
  }
  const used = await db.query<{ grant_id: string }>(`SELECT grant_id FROM auth_refresh_token WHERE token_hash = $1 AND used_at IS NOT NULL`, [hash]);
  if (used[0]) {
    await revokeGrant(db, used[0].grant_id);
    return 'reused';
  }
  return undefined;
}

/** The grant a refresh token belongs to (for revocation), whether or not it was used. */
export async function grantOfRefreshToken(db: Queryable, token: string): Promise<{ grantId: string; clientId: string } | undefined> {
  const rows = await db.query<{ grant_id: string; client_id: string }>(
    `SELECT t.grant_id, g.client_id FROM auth_refresh_token t JOIN auth_grant g ON g.id = t.grant_id WHERE t.token_hash = $1`,
    [secretHash(token)]
  );
  return rows[0] && { grantId: rows[0].grant_id, clientId: rows[0].client_id };
}

export async function revokeGrant(db: Queryable, grantId: string): Promise<void> {
  await db.query(`UPDATE auth_grant SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [grantId]);
}

/** Whether the access tokens of a grant may still be used: it exists and is not revoked. */
export async function grantActive(db: Queryable, grantId: string): Promise<boolean> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM auth_grant WHERE id = $1 AND revoked_at IS NULL`, [grantId]);
  return rows.length === 1;
}

export interface LaunchContext {
  readonly patientId: string;
  readonly encounterId?: string;
}

/** Records an EHR launch context; answers the opaque `launch` value. */
export async function createLaunch(db: Queryable, createdBy: string, context: LaunchContext): Promise<string> {
  const secret = newSecret();
  await db.query(
    `WITH swept AS (DELETE FROM auth_launch WHERE expires_at < now())
     INSERT INTO auth_launch (launch_hash, created_by, patient_id, encounter_id, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [secretHash(secret), createdBy, context.patientId, context.encounterId ?? null, LAUNCH_LIFETIME_SECONDS]
  );
  return secret;
}

/** The context of an unexpired launch value. */
export async function resolveLaunch(db: Queryable, launch: string): Promise<LaunchContext | undefined> {
  const rows = await db.query<{ patient_id: string; encounter_id: string | null }>(
    `SELECT patient_id, encounter_id FROM auth_launch WHERE launch_hash = $1 AND expires_at > now()`,
    [secretHash(launch)]
  );
  const row = rows[0];
  return row && { patientId: row.patient_id, ...(row.encounter_id !== null ? { encounterId: row.encounter_id } : {}) };
}
