/**
 * From the identifiers in a token to the resources they name on this server: the user's
 * Organization (by URA or AGB) and Practitioner (by UZI, BIG or AGB), and the references that
 * stand for the organisation in care relations: the Organization itself, its PractitionerRoles
 * and the user's own Practitioner (docs/security.md: "member is O, or a PractitionerRole of O").
 * Lookups go through the identifier index; a known identifier is remembered for a minute.
 */
import type { Queryable } from '../storage/database.js';
import type { TokenIdentifier } from './principal.js';

const REMEMBER_MS = 60_000;
const MAX_REMEMBERED = 10_000;

export class IdentifierResolver {
  private readonly known = new Map<string, { ref: string; at: number }>();

  /** `Type/id` of the one current resource of `type` with this identifier; undefined for none or several. */
  async resolve(db: Queryable, type: 'Organization' | 'Practitioner', identifier: TokenIdentifier): Promise<string | undefined> {
    const key = `${type}|${identifier.system}|${identifier.value}`;
    const hit = this.known.get(key);
    if (hit && Date.now() - hit.at < REMEMBER_MS) {
      return hit.ref;
    }
    const rows = await db.query<{ id: string }>(
      `SELECT r.id FROM search_token x JOIN resource r ON r.sid = x.sid
        WHERE x.resource_type = $1 AND x.param = 'identifier' AND x.code = $3 AND x.system = $2 AND NOT r.deleted
        ORDER BY r.sid LIMIT 2`,
      [type, identifier.system, identifier.value]
    );
    if (rows.length !== 1) {
      this.known.delete(key);
      return undefined;
    }
    const ref = `${type}/${(rows[0] as { id: string }).id}`;
    if (this.known.size >= MAX_REMEMBERED) {
      this.known.clear();
    }
    this.known.set(key, { ref, at: Date.now() });
    return ref;
  }
}

/** The references that act for the user's organisation in care relations (one indexed query). */
export async function actorReferences(db: Queryable, organizationRef: string | undefined, practitionerRef: string | undefined): Promise<string[]> {
  const actors = practitionerRef === undefined ? [] : [practitionerRef];
  if (organizationRef === undefined) {
    return actors;
  }
  const rows = await db.query<{ id: string }>(
    `SELECT r.id FROM search_reference x JOIN resource r ON r.sid = x.sid
      WHERE x.resource_type = 'PractitionerRole' AND x.param = 'organization'
        AND x.target_id = $1 AND x.target_type = 'Organization' AND NOT r.deleted`,
    [organizationRef.slice('Organization/'.length)]
  );
  return [organizationRef, ...actors, ...rows.map((row) => `PractitionerRole/${row.id}`)];
}
