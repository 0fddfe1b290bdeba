/**
 * Single use of assertions (SMART Backend Services: "the jti value ... SHALL NOT be reused"; RFC
 * 7523 §3): every accepted jti is stored until its assertion expires, in the database, so a replay
 * is refused by whichever instance receives it. Expired ids are swept by the same statement.
 */
import type { Queryable } from '../storage/database.js';

/** True the first time `key` is seen before `expiresAt`; false for a replay. */
export async function claimJti(db: Queryable, key: string, expiresAt: Date): Promise<boolean> {
  const rows = await db.query<{ jti: string }>(
    `WITH swept AS (DELETE FROM auth_jti WHERE expires_at < now() - interval '10 minutes')
     INSERT INTO auth_jti (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING RETURNING jti`,
    [key, expiresAt.toISOString()]
  );
  return rows.length === 1;
}
