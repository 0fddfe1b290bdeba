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
import type { AccessFilter } from '../repository/types.js';
import type { Principal } from '../auth/principal.js';
import type { EventConsumer, ResourceEvent } from '../events/resource-event.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import { parseCriteria } from './subscription-channel.js';
import { ownerOf } from './subscription-owner.js';
import { eventVersions, deletionVisible, topicMatches, type EventVersions, type VersionReader } from './topic-match.js';
import { topicSubscription } from './topic-subscription.js';
import { recordEvents, resetFailures, startDelivery, subscriptionState, subscriptionsWithStatus, type StoredSubscription } from './subscription-store.js';

/** Statuses under which events are numbered: those of `requested` are sent once the handshake succeeded. */
const MATCHING: readonly string[] = ['requested', 'active'];

/** What a Subscription needs for matching, worked out once per batch of events rather than once per event. */
interface Prepared {
  readonly stored: StoredSubscription;
  readonly topic: ReturnType<typeof topicSubscription>;
  readonly criteria: ReturnType<typeof parseCriteria>;
  owner?: Promise<Principal | undefined>;
  access?: Promise<AccessFilter | undefined>;
}

function prepare(stored: StoredSubscription): Prepared {
  return { stored, topic: topicSubscription(stored.subscription), criteria: parseCriteria(stored.subscription.criteria) };
}

export function subscriptionMatcher(db: Database, search: SearchService, read: VersionReader, matched: () => void): EventConsumer {
  const ownerFor = (p: Prepared): Promise<Principal | undefined> => (p.owner ??= ownerOf(db, p.stored.subscription.id));
  const accessFor = (p: Prepared): Promise<AccessFilter | undefined> =>
    (p.access ??= ownerFor(p).then(async (owner) => (owner === undefined ? undefined : (await accessScope(db, owner)).filter)));

  /** Whether one event matches one Subscription (deletions, topics; a create or update when not searched in a batch). */
  async function matchesOne(p: Prepared, event: ResourceEvent, versions: EventVersions): Promise<boolean> {
    const { topic, criteria } = p;
    if (topic !== undefined) {
      return topicMatches(db, search, topic, await ownerFor(p), event, versions);
    }
    if (criteria === undefined) {
      return false;
    }
    if (event.interaction === 'delete') {
      const previous = await versions.previous();
      const query = new URLSearchParams(criteria.params.map(([k, v]): [string, string] => [k, v])).toString();
      return (
        previous !== undefined &&
        matchesSearchRequest(previous, parseSearchRequest(`${criteria.resourceType}?${query}`)) &&
        (await deletionVisible(db, search, await ownerFor(p), event))
      );
    }
    const ids = await search.findIds(db, criteria.resourceType, [...criteria.params, ['_id', event.id]], 1, await accessFor(p));
    return ids.includes(event.id);
  }

  /**
   * The events of one run (no Subscription written in between) that a Subscription's criteria
   * match, in seq order. The creates and updates of its resource type are matched with ONE search
   * (the criteria plus `_id` naming them all, an OR per https://hl7.org/fhir/R4/search.html#combining),
   * which finds the same as one search per event would: each is matched as it is now.
   */
  async function matchesOf(p: Prepared, run: readonly ResourceEvent[], versions: ReadonlyMap<ResourceEvent, EventVersions>): Promise<ResourceEvent[]> {
    const { topic, criteria } = p;
    const relevant = run.filter((e) => p.stored.startSeq < e.seq && (topic !== undefined || criteria?.resourceType === e.resourceType));
    if (relevant.length === 0) {
      return [];
    }
    const searched = topic === undefined && criteria !== undefined ? relevant.filter((e) => e.interaction !== 'delete') : [];
    let found = new Set<string>();
    if (criteria !== undefined && searched.length > 1) {
      const ids = [...new Set(searched.map((e) => e.id))];
      found = new Set(await search.findIds(db, criteria.resourceType, [...criteria.params, ['_id', ids.join(',')]], ids.length, await accessFor(p)));
    }
    const out: ResourceEvent[] = [];
    for (const event of relevant) {
      const versionsOf = versions.get(event) ?? eventVersions(event, read);
      const matches = searched.length > 1 && event.interaction !== 'delete' ? found.has(event.id) : await matchesOne(p, event, versionsOf);
      if (matches) {
        out.push(event);
      }
    }
    return out;
  }

  return {
    name: 'subscriptions',
    async handle(events: readonly ResourceEvent[]): Promise<void> {
      let run: ResourceEvent[] = [];
      // Matches a run of events against the Subscriptions as they are now; numbered per Subscription in seq order.
      const flush = async (): Promise<void> => {
        if (run.length === 0) {
          return;
        }
        const current = run;
        run = [];
        // One reader per event, shared by every topic Subscription (topic-match.ts reads versions lazily).
        const versions = new Map(current.map((e): [ResourceEvent, EventVersions] => [e, eventVersions(e, read)]));
        for (const stored of await subscriptionsWithStatus(db, MATCHING)) {
          const matches = await matchesOf(prepare(stored), current, versions);
          if (matches.length > 0) {
            await db.transaction((tx) => recordEvents(tx, stored.subscription.id, matches));
          }
        }
      };
      for (const event of events) {
        if (event.resourceType === 'Subscription') {
          // A Subscription written changes who matches what: the events before it are matched first.
          await flush();
          if (event.interaction === 'create') {
            await startDelivery(db, event.id, event.seq);
          } else if ((await subscriptionState(db, event.id))?.subscription.status === 'requested') {
            // A client asked for a new handshake: the failures of before do not count against it.
            await resetFailures(db, event.id);
          }
          continue;
        }
        run.push(event);
      }
      await flush();
      matched();
    },
  };
}
