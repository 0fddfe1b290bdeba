/**
 * The rules of a Subscription write (https://hl7.org/fhir/R4/subscription.html#lifecycle), as a
 * WriteHook: what a client writes is checked here (422 naming the element), and the creator's
 * identity is recorded in the same transaction (subscription-owner.ts).
 *
 * Status belongs to the server: a client creates a Subscription as `requested`, and afterwards may
 * set `off` (stop) or `requested` again (ask for a new handshake); `active` and `error` are set by
 * the engine (subscription-engine.ts), whose writes carry no actor. Only the owner (its creator)
 * may change or delete it; anyone else gets the 404 of an unknown resource.
 */
import type { Subscription } from '@medplum/fhirtypes';
import type { AccessScope } from '../auth/access-scope.js';
import type { SubscriptionConfig } from '../config/config.js';
import { issue, isOperationOutcomeError, notFound, unprocessable } from '../fhir/outcomes.js';
import type { WriteHook } from '../repository/types.js';
import type { SearchService } from '../search/types.js';
import { channelIssues, parseCriteria, payloadContent } from './subscription-channel.js';
import { FILTER_EXPRESSION, topicSubscription } from './topic-subscription.js';
import { endpointRefusal } from './endpoint-safety.js';
import { isOwner, ownerOf, saveOwner } from './subscription-owner.js';

const CLIENT_STATUSES: ReadonlySet<string> = new Set(['requested', 'off']);

export function subscriptionGuard(search: SearchService, config: SubscriptionConfig): WriteHook {
  return {
    async beforeWrite(repo, change) {
      const scope = repo.scope.actor as AccessScope | undefined;
      const replaces = change.previous !== undefined && !change.previous.deleted;
      if (change.version.resourceType === 'Subscription' && replaces && scope !== undefined) {
        // The feed runs with its owner's read rights: whoever else could change its endpoint
        // would receive them. A Subscription has no patient, so the access narrowing lets every
        // user reach it; this rule is what keeps it the owner's.
        if (!isOwner(scope.principal, await ownerOf(repo.queryable, change.version.id))) {
          throw notFound(`Subscription/${change.version.id} is not known`);
        }
      }
      const resource = change.resource;
      if (resource?.resourceType !== 'Subscription') {
        return;
      }
      const subscription: Subscription = resource;
      const issues = channelIssues(subscription);
      const endpoint = subscription.channel?.endpoint;
      if (issues.length === 0 && endpoint !== undefined) {
        const refusal = endpointRefusal(endpoint, config);
        if (refusal !== undefined) {
          issues.push(issue({ code: 'not-supported', text: refusal, expression: 'Subscription.channel.endpoint' }));
        }
      }
      const criteria = parseCriteria(subscription.criteria);
      const topic = topicSubscription(subscription);
      const searches = criteria !== undefined ? [{ criteria, expression: 'Subscription.criteria' }] : (topic?.filters ?? []).map((f) => ({ criteria: f, expression: FILTER_EXPRESSION }));
      for (const { criteria: query, expression } of searches) {
        try {
          // The search machinery decides what criteria it supports: the same parse as a search.
          await search.findIds(repo.queryable, query.resourceType, query.params, 1);
        } catch (error) {
          if (!isOperationOutcomeError(error)) {
            throw error;
          }
          issues.push(issue({ code: 'not-supported', text: 'The criteria are not a search this server supports', expression }));
        }
      }
      // full-resource sends the resources themselves: only of types the owner may read
      // (a search-only scope gets names, not content). Need-to-know per event still applies.
      const types = criteria !== undefined ? [criteria.resourceType] : (topic?.topic.triggers.map((t) => t.resource) ?? []);
      if (scope !== undefined && payloadContent(subscription) === 'full-resource' && types.some((type) => !scope.principal.scopes.allows(type, 'r'))) {
        issues.push(issue({ code: 'forbidden', text: 'full-resource needs read rights on every type the Subscription reports', expression: 'Subscription.channel.payload' }));
      }
      if (repo.scope.actor !== undefined) {
        const previous = change.previous?.json === undefined || change.previous.deleted ? undefined : (JSON.parse(change.previous.json) as Subscription);
        const allowed = previous === undefined ? subscription.status === 'requested' : CLIENT_STATUSES.has(subscription.status ?? '') || subscription.status === previous.status;
        if (!allowed) {
          issues.push(
            issue({
              code: 'business-rule',
              text: previous === undefined ? 'A new Subscription has status requested' : 'A client may set status off or requested',
              expression: 'Subscription.status',
            })
          );
        }
      }
      if (issues.length > 0) {
        throw unprocessable(issues);
      }
    },
    async afterWrite(repo, change) {
      const scope = repo.scope.actor as AccessScope | undefined;
      if (change.kind === 'create' && change.version.resourceType === 'Subscription' && scope !== undefined) {
        await saveOwner(repo.queryable, change.version.id, scope.principal);
      }
    },
  };
}
