/**
 * The change-event consumer of the subscription engine (events/dispatcher.ts): numbers, for each
 * Subscription, the committed writes its criteria match, as its owner could read them when the
 * event is handled. Delivery is the engine's separate step, so a slow receiver never holds up the
 * event stream of the others.
 *
 * Matching reuses the search machinery: the event's resource matches when a search with the
 * criteria plus `_id` finds it, narrowed by the owner's AccessScope (auth/access-scope.ts), the
 * same SQL condition every read applies. The resource is matched as it is now, which is the
 * event's version unless a later write overtook it (its own event follows). A deletion matches
 * when the version before it met the criteria and the owner may still read its patients
 * (topic-match.ts). Topic-based Subscriptions are matched by topic-match.ts.
 */
import { accessScope } from '../auth/access-scope.js';
import type { EventConsumer, ResourceEvent } from '../events/resource-event.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import { parseCriteria } from './subscription-channel.js';
import { ownerOf } from './subscription-owner.js';
import { eventVersions, deletionVisible, topicMatches, type VersionReader } from './topic-match.js';
import { topicSubscription } from './topic-subscription.js';
import { recordEvent, resetFailures, startDelivery, subscriptionState, subscriptionsWithStatus, type StoredSubscription } from './subscription-store.js';

/** Statuses under which events are numbered: those of `requested` are sent once the handshake succeeded. */
const MATCHING: readonly string[] = ['requested', 'active'];

export function subscriptionMatcher(db: Database, search: SearchService, read: VersionReader, matched: () => void): EventConsumer {
  return {
    name: 'subscriptions',
    async handle(events: readonly ResourceEvent[]): Promise<void> {
      let subscriptions: StoredSubscription[] | undefined;
      for (const event of events) {
        if (event.resourceType === 'Subscription') {
          if (event.interaction === 'create') {
            await startDelivery(db, event.id, event.seq);
          } else if ((await subscriptionState(db, event.id))?.subscription.status === 'requested') {
            // A client asked for a new handshake: the failures of before do not count against it.
            await resetFailures(db, event.id);
          }
          subscriptions = undefined;
          continue;
        }
        subscriptions ??= await subscriptionsWithStatus(db, MATCHING);
        const versions = eventVersions(event, read);
        for (const stored of subscriptions) {
          if (stored.startSeq >= event.seq) {
            continue;
          }
          const topic = topicSubscription(stored.subscription);
          const criteria = parseCriteria(stored.subscription.criteria);
          if (topic === undefined && criteria?.resourceType !== event.resourceType) {
            continue;
          }
          const owner = await ownerOf(db, stored.subscription.id);
          let matches: boolean;
          if (topic !== undefined) {
            matches = await topicMatches(db, search, topic, owner, event, versions);
          } else if (criteria === undefined) {
            matches = false;
          } else if (event.interaction === 'delete') {
            const previous = await versions.previous();
            const query = new URLSearchParams(criteria.params.map(([k, v]): [string, string] => [k, v])).toString();
            matches =
              previous !== undefined &&
              matchesSearchRequest(previous, parseSearchRequest(`${criteria.resourceType}?${query}`)) &&
              (await deletionVisible(db, search, owner, event));
          } else {
            const access = owner === undefined ? undefined : (await accessScope(db, owner)).filter;
            const ids = await search.findIds(db, criteria.resourceType, [...criteria.params, ['_id', event.id]], 1, access);
            matches = ids.includes(event.id);
          }
          if (matches) {
            await db.transaction((tx) => recordEvent(tx, stored.subscription.id, event));
          }
        }
      }
      matched();
    },
  };
}
