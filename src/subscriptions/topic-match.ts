/**
 * Whether a change event is news for a topic-based Subscription (topic-subscription.ts), as its
 * owner could know it when the event is handled:
 * 1. a resource trigger of the topic fires (topic-trigger.ts) on the event's version and the one
 *    before it, read from the history (so a later write does not change what this event was);
 * 2. the Subscription's filters of that type match, and the owner may read the resource: for a
 *    create or update a search with the filters plus `_id` (subscription-matcher.ts runs it, one
 *    for all the events and Subscriptions that share it), narrowed by the owner's AccessScope
 *    (the SQL condition of every read, auth/access-scope.ts); a deleted resource matches no
 *    search, so for a delete the filters are evaluated on the last version
 *    (@medplum/core matchesSearchRequest) and need-to-know on the patients it belonged to (the
 *    event keeps them): the owner must still be allowed to read one of them.
 */
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import type { AccessFilter } from '../repository/types.js';
import type { ResourceEvent } from '../events/resource-event.js';
import type { SearchService } from '../search/types.js';
import type { Queryable } from '../storage/database.js';
import type { Criteria } from './subscription-channel.js';
import { candidateTriggers, triggerFires } from './topic-trigger.js';
import { filtersFor, type TopicSubscription } from './topic-subscription.js';

/** Reads one version of a resource; undefined when it does not exist or is a deletion. */
export type VersionReader = (resourceType: string, id: string, versionId: number) => Promise<Resource | undefined>;

/** The event's version and the one before, read once per event for every Subscription. */
export interface EventVersions {
  current(): Promise<Resource | undefined>;
  previous(): Promise<Resource | undefined>;
}

/** Reads several versions at once, keyed `Type/id/versionId`; absent when missing or a deletion. */
export type VersionsReader = (keys: ReadonlyArray<{ resourceType: string; id: string; versionId: number }>) => Promise<Map<string, Resource>>;

/**
 * The versions of a run of events, each event's own and the one before it, read in one statement
 * rather than one or two per event; Binary (whose bytes are stored apart) is read one by one.
 */
export async function runVersions(run: readonly ResourceEvent[], read: VersionReader, readMany: VersionsReader): Promise<Map<ResourceEvent, EventVersions>> {
  const keys = run
    .filter((e) => e.resourceType !== 'Binary')
    .flatMap((e) => [
      ...(e.interaction !== 'delete' ? [{ resourceType: e.resourceType, id: e.id, versionId: e.versionId }] : []),
      ...(e.versionId > 1 ? [{ resourceType: e.resourceType, id: e.id, versionId: e.versionId - 1 }] : []),
    ]);
  const loaded = await readMany(keys);
  const asked = new Set(keys.map((k) => `${k.resourceType}/${k.id}/${k.versionId}`));
  const preloaded: VersionReader = (resourceType, id, versionId) => {
    const key = `${resourceType}/${id}/${versionId}`;
    return asked.has(key) ? Promise.resolve(loaded.get(key)) : read(resourceType, id, versionId);
  };
  return new Map(run.map((e): [ResourceEvent, EventVersions] => [e, eventVersions(e, preloaded)]));
}

export function eventVersions(event: ResourceEvent, read: VersionReader): EventVersions {
  let current: Promise<Resource | undefined> | undefined;
  let previous: Promise<Resource | undefined> | undefined;
  return {
    current: () => (current ??= event.interaction === 'delete' ? Promise.resolve(undefined) : read(event.resourceType, event.id, event.versionId)),
    previous: () => (previous ??= event.versionId > 1 ? read(event.resourceType, event.id, event.versionId - 1) : Promise.resolve(undefined)),
  };
}

function queryString(filters: readonly Criteria[]): string {
  return new URLSearchParams(filters.flatMap((f) => f.params.map(([k, v]): [string, string] => [k, v]))).toString();
}

/** Need-to-know for a deletion: the owner may read the type and, for a user, still one of its patients (`access`: the owner's AccessScope filter). */
export async function deletionVisible(
  db: Queryable,
  search: SearchService,
  owner: Principal | undefined,
  access: () => Promise<AccessFilter | undefined>,
  event: ResourceEvent
): Promise<boolean> {
  if (owner === undefined) {
    return true;
  }
  if (!owner.scopes.allows(event.resourceType, 'r') && !owner.scopes.allows(event.resourceType, 's')) {
    return false;
  }
  if (owner.kind !== 'user' || event.patients.length === 0) {
    return true;
  }
  const patients = await search.findIds(db, 'Patient', [['_id', event.patients.join(',')]], event.patients.length, await access());
  return patients.length > 0;
}

/**
 * The filters to search with when the event is news for the topic: a trigger fires and, for a
 * deletion, the filters matched the last version (a deleted resource matches no search). Undefined
 * when it is not. What remains is the owner's search (create, update) or deletionVisible (delete),
 * which the matcher shares between Subscriptions that would run the same one.
 */
export async function topicFilters(subscription: TopicSubscription, event: ResourceEvent, versions: EventVersions): Promise<Criteria[] | undefined> {
  const triggers = candidateTriggers(subscription.topic, event.resourceType, event.interaction);
  const filters = filtersFor(subscription, event.resourceType);
  if (triggers.length === 0 || filters === undefined) {
    return undefined;
  }
  const current = await versions.current();
  const previous = await versions.previous();
  if (!triggers.some((t) => triggerFires(t, current, previous))) {
    return undefined;
  }
  if (
    event.interaction === 'delete' &&
    filters.length > 0 &&
    (previous === undefined || !matchesSearchRequest(previous, parseSearchRequest(`${event.resourceType}?${queryString(filters)}`)))
  ) {
    return undefined;
  }
  return filters;
}
