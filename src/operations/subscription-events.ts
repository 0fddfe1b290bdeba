// $events of the Subscriptions Backport IG (https://hl7.org/fhir/uv/subscriptions-backport/operations.html)
/**
 * `GET [base]/Subscription/{id}/$events?eventsSinceNumber=&eventsUntilNumber=`: the notification
 * Bundle of those events (both bounds inclusive; by default the last ones up to a page), for a
 * receiver catching up after it was down. Only the Subscription's owner may ask, as for $status
 * (subscription-status.ts).
 */
import type { OperationDefinition } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { notificationBundle } from '../subscriptions/notification-bundle.js';
import { payloadContent } from '../subscriptions/subscription-channel.js';
import { numberedEvents } from '../subscriptions/subscription-store.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';
import { ownSubscription } from './subscription-status.js';

/** Events in one $events answer at most. */
const MAX_EVENTS = 100;

const eventsDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Subscription-events',
  url: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
  name: 'SubscriptionEvents',
  status: 'active',
  kind: 'operation',
  code: 'events',
  resource: ['Subscription'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'eventsSinceNumber', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The first event number, inclusive' },
    { name: 'eventsUntilNumber', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The last event number, inclusive' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A history Bundle: the SubscriptionStatus, then the events (id-only or empty as the Subscription asks)' },
  ],
};

function eventNumber(params: ReadonlyArray<readonly [string, string]>, name: string): number | undefined {
  const text = params.find(([key]) => key === name)?.[1];
  if (text === undefined) {
    return undefined;
  }
  if (!/^\d{1,15}$/.test(text)) {
    throw badRequest(`${name} must be an event number`, name);
  }
  return Number(text);
}

async function events(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const params = input.pairs;
  const stored = await ownSubscription(ctx, request);
  const until = eventNumber(params, 'eventsUntilNumber') ?? stored.eventsSinceStart;
  const since = eventNumber(params, 'eventsSinceNumber') ?? Math.max(1, until - MAX_EVENTS + 1);
  const found = await numberedEvents(ctx.repo.queryable, stored.subscription.id, since, until, MAX_EVENTS);
  const bundle = notificationBundle({
    baseUrl: request.baseUrl,
    subscription: stored.subscription,
    type: 'query-event',
    eventsSinceStart: stored.eventsSinceStart,
    events: found,
    // $events names the resources; their content is a read of its own (full-resource reads as id-only here).
    content: payloadContent(stored.subscription) === 'empty' ? 'empty' : 'id-only',
  });
  return { status: 200, resource: bundle };
}

export const subscriptionEventsOperation: OperationHandler = {
  name: 'events',
  definition: eventsDefinition,
  resourceTypes: ['Subscription'],
  levels: ['instance'],
  handle: events,
};
