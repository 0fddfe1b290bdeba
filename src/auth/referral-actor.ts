/**
 * The caller of a write as the referral Task rules see it (domain/referral/referral-actor.ts): the
 * references the user acts as (their Practitioner, PractitionerRoles and Organization). System
 * clients are integration engines, audited as the client: the transition guards let them through,
 * the content rules (referral-ownership.ts, referral-task-fields.ts) let them act as either party.
 * Without a scope (server-internal writes such as seeding) there is no actor and no rule.
 */
import type { ReferralActor } from '../domain/referral/referral-actor.js';
import type { Repository } from '../repository/repository.js';
import type { AccessScope } from './access-scope.js';

export function referralActorOf(repo: Repository): ReferralActor | undefined {
  const scope = repo.scope.actor as AccessScope | undefined;
  if (scope === undefined) {
    return undefined;
  }
  return scope.principal.kind === 'user' ? { references: scope.actors } : { references: [], system: true };
}
