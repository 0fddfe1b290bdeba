/**
 * The change-event consumer of the subscription engine (events/dispatcher.ts): numbers, for each
 * Subscription, the committed writes its criteria match, as its owner could read them when the
 * event is handled. Delivery is the engine's separate step, so a slow receiver never holds up the
 * event stream of the others.
 *
 * Matching reuses the search machinery: the event's resource matches when a search with the
 * criteria plus `_id` finds it, narrowed by the owner's AccessScope (auth/access-scope.ts), the
 * same SQL condition every read applies. The resource is matched as it is now, which is the
 * event's version unless a later write overtook it (its own event follows). Deletions are not
 * notified: a deleted resource matches no search.
 */
import { accessScope } from '../auth/access-scope.js';
import type { EventConsumer, ResourceEvent } from '../events/resource-event.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { parseCriteria } from './subscription-channel.js';
import { ownerOf } from './subscription-owner.js';
import { recordEvent, resetFailures, startDelivery, subscriptionState, subscriptionsWithStatus, type StoredSubscription } from './subscription-store.js';

/** Statuses under which events are numbered: those of `requested` are sent once the handshake succeeded. */
const MATCHING: readonly string[] = ['requested', 'active'];

export function subscriptionMatcher(db: Database, search: SearchService, matched: () => void): EventConsumer {
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
        if (event.interaction === 'delete') {
          continue;
        }
        subscriptions ??= await subscriptionsWithStatus(db, MATCHING);
        for (const stored of subscriptions) {
          const criteria = parseCriteria(stored.subscription.criteria);
          if (criteria?.resourceType !== event.resourceType || stored.startSeq >= event.seq) {
            continue;
          }
          const owner = await ownerOf(db, stored.subscription.id);
          const access = owner === undefined ? undefined : (await accessScope(db, owner)).filter;
          const ids = await search.findIds(db, criteria.resourceType, [...criteria.params, ['_id', event.id]], 1, access);
          if (ids.includes(event.id)) {
            await db.transaction((tx) => recordEvent(tx, stored.subscription.id, event));
          }
        }
      }
      matched();
    },
  };
}
