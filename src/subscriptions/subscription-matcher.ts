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
import { keptOrMade } from './memo.js';
import { eventVersions, deletionVisible, runVersions, topicFilters, type EventVersions, type VersionReader, type VersionsReader } from './topic-match.js';
import { topicSubscription, type TopicSubscription } from './topic-subscription.js';
import type { Criteria } from './subscription-channel.js';
import { recordEvents, resetFailures, startDelivery, type SubscriptionCatalog, type StoredSubscription } from './subscription-store.js';

/** Statuses under which events are numbered: those of `requested` are sent once the handshake succeeded. */
const MATCHING: readonly string[] = ['requested', 'active'];

/** A Subscription's owner, and a key that is equal for owners who may read exactly the same. */
interface Owned {
  readonly owner: Principal | undefined;
  readonly key: string;
}

function ownerKey(owner: Principal | undefined): string {
  return owner === undefined
    ? 'server'
    : JSON.stringify([owner.kind, owner.clientId, owner.scopes.toString(), owner.organizationRef, owner.practitionerRef, owner.user]);
}

const criteriaKey = (resourceType: string, params: ReadonlyArray<readonly [string, string]>): string =>
  `${resourceType}?${new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])).toString()}`;

/**
 * What the matcher keeps between batches on this node: the AccessScope of each owner key. It
 * depends on the owner's organisation's PractitionerRoles (auth/actors.ts), so it is dropped when
 * a batch holds a PractitionerRole event, or when the batch does not follow the last one this node
 * handled: another node handled the events in between, and this node has not seen them.
 * Everything else an AccessScope decides is SQL evaluated by each search. Owners are kept by the
 * catalog (subscription-store.ts).
 */
class MatcherCache {
  readonly scopes = new Map<string, Promise<AccessFilter | undefined>>();
  /** seq of the last event handled here; 0 before the first batch. */
  lastSeq = 0;

  /** Called with each batch before matching it. */
  begin(events: readonly ResourceEvent[]): void {
    const first = events[0];
    if (first === undefined || first.seq !== this.lastSeq + 1 || events.some((e) => e.resourceType === 'PractitionerRole')) {
      this.scopes.clear();
    }
  }

  clear(): void {
    this.scopes.clear();
    this.lastSeq = 0;
  }
}

export function subscriptionMatcher(
  db: Database,
  search: SearchService,
  read: VersionReader,
  readMany: VersionsReader,
  catalog: SubscriptionCatalog,
  matched: () => void,
  intervalMs = 0
): EventConsumer {
  const cache = new MatcherCache();
  const ownedBy = async (id: string): Promise<Owned> => {
    const owner = await catalog.owner(db, id);
    return { owner, key: ownerKey(owner) };
  };
  const accessOf =
    ({ owner, key }: Owned): (() => Promise<AccessFilter | undefined>) =>
    () =>
      keptOrMade(cache.scopes, key, () => (owner === undefined ? Promise.resolve(undefined) : accessScope(db, owner).then((scope) => scope.filter)));

  /**
   * Matches one run of events (no Subscription written in between) against every Subscription as
   * they are now. Subscriptions that would run the same search (same criteria or topic filters,
   * owners who may read the same, the same events) share it: the search with the criteria plus
   * `_id` naming all the run's candidates (an OR, https://hl7.org/fhir/R4/search.html#combining)
   * finds what one search per event would, as each resource is matched as it is now.
   */
  async function matchRun(run: readonly ResourceEvent[]): Promise<void> {
    const current = await catalog.withStatus(db, MATCHING);
    // Topics read every event's versions (their triggers compare them): then in one statement.
    const versions = current.some((s) => topicSubscription(s.subscription) !== undefined)
      ? await runVersions(run, read, readMany)
      : new Map(run.map((e): [ResourceEvent, EventVersions] => [e, eventVersions(e, read)]));
    const searches = new Map<string, Promise<Set<string>>>();
    const deletions = new Map<string, Promise<boolean>>();
    // Whether an event is news for a topic and filters: the same for every Subscription that has them.
    const news = new Map<string, Promise<Criteria[] | undefined>>();
    // Every event of the run is in `versions` (both branches above map the whole run).
    const versionsOf = (event: ResourceEvent): EventVersions => versions.get(event) ?? eventVersions(event, read);
    const topicNews = (topic: TopicSubscription, event: ResourceEvent): Promise<Criteria[] | undefined> =>
      keptOrMade(news, `${topic.topic.url}|${JSON.stringify(topic.filters)}|${event.seq}`, () => topicFilters(topic, event, versionsOf(event)));
    const found = (owned: Owned, resourceType: string, params: ReadonlyArray<readonly [string, string]>, ids: readonly string[]): Promise<Set<string>> =>
      keptOrMade(searches, `${criteriaKey(resourceType, params)}|${owned.key}|${ids.join(',')}`, () =>
        accessOf(owned)()
          .then((access) => search.findIds(db, resourceType, [...params, ['_id', ids.join(',')]], ids.length, access))
          .then((list) => new Set(list))
      );
    const visible = (owned: Owned, event: ResourceEvent): Promise<boolean> =>
      keptOrMade(deletions, `${owned.key}|${event.seq}`, () => deletionVisible(db, search, owned.owner, accessOf(owned), event));

    /** The events of the run this Subscription is told about, in seq order. */
    async function matchesOf(stored: StoredSubscription): Promise<ResourceEvent[]> {
      const topic = topicSubscription(stored.subscription);
      const criteria = topic === undefined ? parseCriteria(stored.subscription.criteria) : undefined;
      const relevant = run.filter((e) => stored.startSeq < e.seq && (topic !== undefined || criteria?.resourceType === e.resourceType));
      if (relevant.length === 0 || (topic === undefined && criteria === undefined)) {
        return [];
      }
      const owned = await ownedBy(stored.subscription.id);
      // Per event: the filters it must still meet (undefined: it is not news for this Subscription).
      const candidates: Array<{ event: ResourceEvent; filters: ReadonlyArray<readonly [string, string]> }> = [];
      for (const event of relevant) {
        if (topic !== undefined) {
          const filters = await topicNews(topic, event);
          if (filters !== undefined) {
            candidates.push({ event, filters: filters.flatMap((f) => f.params) });
          }
        } else if (criteria !== undefined) {
          if (event.interaction !== 'delete') {
            candidates.push({ event, filters: criteria.params });
          } else {
            const previous = await versionsOf(event).previous();
            if (previous !== undefined && matchesSearchRequest(previous, parseSearchRequest(criteriaKey(criteria.resourceType, criteria.params)))) {
              candidates.push({ event, filters: criteria.params });
            }
          }
        }
      }
      // The candidates of one type with the same filters: one search for them all.
      const groups = new Map<string, { ids: Set<string>; found?: Promise<Set<string>> }>();
      const groupOf = (event: ResourceEvent, filters: ReadonlyArray<readonly [string, string]>): { ids: Set<string>; found?: Promise<Set<string>> } => {
        const key = `${event.resourceType} ${JSON.stringify(filters)}`;
        let group = groups.get(key);
        if (group === undefined) {
          group = { ids: new Set() };
          groups.set(key, group);
        }
        return group;
      };
      for (const { event, filters } of candidates) {
        if (event.interaction !== 'delete') {
          groupOf(event, filters).ids.add(event.id);
        }
      }
      const out: ResourceEvent[] = [];
      for (const { event, filters } of candidates) {
        if (event.interaction === 'delete') {
          if (await visible(owned, event)) {
            out.push(event);
          }
          continue;
        }
        const group = groupOf(event, filters);
        group.found ??= found(owned, event.resourceType, filters, [...group.ids].sort());
        if ((await group.found).has(event.id)) {
          out.push(event);
        }
      }
      return out;
    }

    const numbered: Array<[string, ResourceEvent[]]> = [];
    for (const stored of current) {
      const matches = await matchesOf(stored);
      if (matches.length > 0) {
        numbered.push([stored.subscription.id, matches]);
      }
    }
    if (numbered.length > 0) {
      await db.transaction(async (tx) => {
        for (const chunk of chunks(numbered)) {
          await recordEvents(tx, chunk);
        }
      });
    }
  }

  return {
    name: 'subscriptions',
    intervalMs,
    async handle(events: readonly ResourceEvent[]): Promise<void> {
      cache.begin(events);
      try {
        let run: ResourceEvent[] = [];
        const flush = async (): Promise<void> => {
          if (run.length > 0) {
            const current = run;
            run = [];
            await matchRun(current);
          }
        };
        for (const event of events) {
          if (event.resourceType === 'Subscription') {
            // A Subscription written changes who matches what: the events before it are matched first.
            await flush();
            if (event.interaction === 'create') {
              await startDelivery(db, event.id, event.seq);
            } else if ((await catalog.one(db, event.id))?.subscription.status === 'requested') {
              // A client asked for a new handshake: the failures of before do not count against it.
              await resetFailures(db, event.id);
            }
            continue;
          }
          run.push(event);
        }
        await flush();
      } catch (error) {
        // A failed query may have left a rejected promise behind; the batch comes again (dispatcher.ts).
        cache.clear();
        throw error;
      }
      cache.lastSeq = events.at(-1)?.seq ?? cache.lastSeq;
      matched();
    },
  };
}

/** At most this many (Subscription, event) pairs per recordEvents: its INSERT binds 8 parameters a pair, and PostgreSQL takes 65,535. */
const PAIRS_PER_STATEMENT = 2000;

function chunks(numbered: ReadonlyArray<[string, ResourceEvent[]]>): Array<Array<[string, ResourceEvent[]]>> {
  const out: Array<Array<[string, ResourceEvent[]]>> = [[]];
  let pairs = 0;
  for (const [id, events] of numbered) {
    for (let i = 0; i < events.length; i += PAIRS_PER_STATEMENT) {
      const part = events.slice(i, i + PAIRS_PER_STATEMENT);
      if (pairs + part.length > PAIRS_PER_STATEMENT) {
        out.push([]);
        pairs = 0;
      }
      out.at(-1)?.push([id, part]);
      pairs += part.length;
    }
  }
  return out;
}
