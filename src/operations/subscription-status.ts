// $status of the Subscriptions Backport IG (https://hl7.org/fhir/uv/subscriptions-backport/operations.html)
/**
 * `GET [base]/Subscription/{id}/$status`: a searchset Bundle with the Subscription's
 * SubscriptionStatus (status, events-since-subscription-start).
 *
 * Only the Subscription's owner (its creator: same user, or the same client for system tokens)
 * may ask: the events were matched against what the owner may read, and tell which resources
 * changed. Anyone else gets the 404 of a resource they cannot see.
 */
import type { OperationDefinition, Subscription } from '@medplum/fhirtypes';
import { notFound } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { statusBundle } from '../subscriptions/notification-bundle.js';
import { isOwner, ownerOf } from '../subscriptions/subscription-owner.js';
import { subscriptionState, type StoredSubscription } from '../subscriptions/subscription-store.js';
import type { OperationHandler } from './registry.js';

const statusDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Subscription-status',
  url: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
  name: 'SubscriptionStatus',
  status: 'active',
  kind: 'operation',
  code: 'status',
  resource: ['Subscription'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A searchset Bundle with the SubscriptionStatus (Parameters, backport-subscription-status-r4)' }],
};

/** The Subscription of the request, when the caller owns it; 404 otherwise ($status and $events). */
export async function ownSubscription(ctx: FhirContext, request: FhirRequest): Promise<StoredSubscription> {
  const id = request.id ?? '';
  // Read through the caller's narrowing first: 404 for what they cannot see at all.
  await ctx.repo.readResource<Subscription>('Subscription', id);
  const db = ctx.repo.queryable;
  const stored = await subscriptionState(db, id);
  if (stored === undefined || !isOwner(ctx.access?.principal ?? ctx.principal, await ownerOf(db, id))) {
    throw notFound(`Subscription/${id} is not known`);
  }
  return stored;
}

async function status(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const stored = await ownSubscription(ctx, request);
  return { status: 200, resource: statusBundle({ baseUrl: request.baseUrl, subscription: stored.subscription, eventsSinceStart: stored.eventsSinceStart }) };
}

export const subscriptionStatusOperation: OperationHandler = {
  name: 'status',
  definition: statusDefinition,
  resourceTypes: ['Subscription'],
  levels: ['instance'],
  handle: status,
};
