/**
 * The two parties of a referral as organisations (Shared Care Planning: the requesting organisation
 * owns the request, the owning organisation works the Task). A party is named by a reference to an
 * Organization, a PractitionerRole (its organization) or a Practitioner (the organisations of its
 * active PractitionerRoles); whoever acts for one of those organisations acts for the party, and so
 * does the person named directly. The caller's references (ReferralActor) come from auth: its
 * Organization, its own Practitioner and every PractitionerRole of its organisation.
 */
import type { PractitionerRole, Reference } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import type { SearchService } from '../../search/types.js';
import type { ReferralActor } from './referral-actor.js';
import { localKey, readLocal } from './stored-resources.js';

/** Enough roles to find every organisation a practitioner works for; more would be a data error. */
const MAX_ROLES = 50;

export interface ReferralParty {
  /** `Type/id` of the reference that names the party. */
  readonly reference: string;
  readonly resourceType: string;
  /** `Organization/id` of the organisations the party belongs to (none when unknown). */
  readonly organizations: readonly string[];
}

/** Organisation lookups for the referral rules; search finds a Practitioner's roles. */
export interface PartyResolver {
  resolve(repo: Repository, reference: Reference | undefined, baseUrl: string | undefined): Promise<ReferralParty | undefined>;
}

async function roleOrganization(repo: Repository, roleRef: string, baseUrl: string | undefined, activeOnly: boolean): Promise<string | undefined> {
  const role = await readLocal<PractitionerRole>(repo, roleRef, 'PractitionerRole', baseUrl);
  if (!role || (activeOnly && role.active === false)) {
    return undefined;
  }
  const organization = localKey(role.organization, baseUrl);
  return organization?.startsWith('Organization/') ? organization : undefined;
}

export function partyResolver(search: SearchService | undefined): PartyResolver {
  return {
    async resolve(repo, reference, baseUrl) {
      const key = localKey(reference, baseUrl);
      if (key === undefined) {
        return undefined;
      }
      const resourceType = key.slice(0, key.indexOf('/'));
      const organizations: string[] = [];
      if (resourceType === 'Organization') {
        organizations.push(key);
      } else if (resourceType === 'PractitionerRole') {
        const organization = await roleOrganization(repo, key, baseUrl, false);
        if (organization !== undefined) {
          organizations.push(organization);
        }
      } else if (resourceType === 'Practitioner' && search) {
        const roles = await search.findIds(repo.queryable, 'PractitionerRole', [['practitioner', key]], MAX_ROLES);
        for (const id of roles) {
          const organization = await roleOrganization(repo, `PractitionerRole/${id}`, baseUrl, true);
          if (organization !== undefined && !organizations.includes(organization)) {
            organizations.push(organization);
          }
        }
      }
      return { reference: key, resourceType, organizations };
    },
  };
}

/** Whether the caller acts for the party: it is the party, or acts for one of its organisations. */
export function actsFor(actor: ReferralActor, party: ReferralParty | undefined): boolean {
  if (party === undefined) {
    return false;
  }
  return actor.references.includes(party.reference) || party.organizations.some((organization) => actor.references.includes(organization));
}

/** Whether two parties share an organisation. */
export function sameOrganization(a: readonly ReferralParty[], b: ReferralParty | undefined): boolean {
  return b !== undefined && a.some((party) => party.organizations.some((organization) => b.organizations.includes(organization)));
}
