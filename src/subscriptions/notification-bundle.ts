/**
 * Notification Bundles of the Subscriptions Backport IG for R4
 * (https://hl7.org/fhir/uv/subscriptions-backport/components.html): a `history` Bundle whose first
 * entry is a Parameters with the SubscriptionStatus (profile backport-subscription-status-r4), then
 * one entry per event: for id-only naming the resource without its content, for full-resource
 * with the version the event made (a deletion has none: its entry names the resource with request
 * method DELETE). Also the `searchset` of $status. Event numbers are strings there, as the IG has
 * them in R4.
 */
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { PayloadContent } from './subscription-channel.js';

const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';
const NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** One matched event as subscription_event keeps it. */
export interface NumberedEvent {
  readonly eventNumber: number;
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly interaction: string;
  readonly recorded: string;
  /** Ids of the patients the resource belongs to (from the change event), for the audit record. */
  readonly patients: readonly string[];
  /** The version's content, for full-resource payloads (none for a deletion). */
  readonly resource?: Resource;
}

export interface StatusInput {
  readonly baseUrl: string;
  readonly subscription: Subscription & { id: string };
  readonly type: NotificationType;
  readonly eventsSinceStart: number;
  readonly events: readonly NumberedEvent[];
  readonly content: PayloadContent;
  /** The status to report (the handshake reports `requested`, what the Subscription is at that time). */
  readonly status?: string;
  /** The topic's canonical URL, for a topic-based Subscription. */
  readonly topic?: string;
}

function subscriptionStatus(input: StatusInput): Parameters {
  const { baseUrl, subscription, content } = input;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${subscription.id}` } },
    { name: 'status', valueCode: input.status ?? subscription.status ?? 'requested' },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
    ...(input.topic !== undefined ? [{ name: 'topic', valueCanonical: input.topic }] : []),
  ];
  for (const event of input.events) {
    parameter.push({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(event.eventNumber) },
        { name: 'timestamp', valueInstant: event.recorded },
        ...(content !== 'empty' ? [{ name: 'focus', valueReference: { reference: `${baseUrl}/${event.resourceType}/${event.id}` } }] : []),
      ],
    });
  }
  return { resourceType: 'Parameters', meta: { profile: [STATUS_PROFILE] }, parameter };
}

function eventEntry(baseUrl: string, event: NumberedEvent, content: PayloadContent): BundleEntry {
  const url = `${event.resourceType}/${event.id}`;
  const request =
    event.interaction === 'create'
      ? { method: 'POST' as const, url: event.resourceType }
      : { method: event.interaction === 'delete' ? ('DELETE' as const) : event.interaction === 'patch' ? ('PATCH' as const) : ('PUT' as const), url };
  return {
    fullUrl: `${baseUrl}/${url}`,
    ...(content === 'full-resource' && event.resource !== undefined ? { resource: event.resource } : {}),
    request,
    response: { status: event.interaction === 'create' ? '201' : event.interaction === 'delete' ? '204' : '200', etag: `W/"${event.versionId}"` },
  };
}

/** The Bundle a rest-hook receives, and $events answers. */
export function notificationBundle(input: StatusInput): Bundle {
  const status: BundleEntry = {
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: subscriptionStatus(input),
    request: { method: 'GET', url: `${input.baseUrl}/Subscription/${input.subscription.id}/$status` },
    response: { status: '200' },
  };
  const entries = input.content === 'empty' ? [] : input.events.map((e) => eventEntry(input.baseUrl, e, input.content));
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [status, ...entries],
  };
}

/** $status: a searchset with the SubscriptionStatus as a match. */
export function statusBundle(input: Omit<StatusInput, 'type' | 'events' | 'content'>): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 1,
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: subscriptionStatus({ ...input, type: 'query-status', events: [], content: 'empty' }),
        search: { mode: 'match' },
      },
    ],
  };
}
