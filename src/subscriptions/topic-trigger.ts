/**
 * Whether a change event fires a topic's resource trigger (R5 SubscriptionTopic.resourceTrigger,
 * https://hl7.org/fhir/R5/subscriptiontopic.html): the event's type and interaction are among the
 * trigger's, and its FHIRPath criterion, evaluated by @medplum/core with `%current` (the version
 * the event made) and `%previous` (the one before) bound as in R5, is true.
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { EventInteraction } from '../events/resource-event.js';
import type { ResourceTrigger, SubscriptionTopicDefinition, TopicInteraction } from './subscription-topics.js';

/** A patch is an update in the topic's terms (R5 interaction codes are create, update, delete). */
export function topicInteraction(interaction: EventInteraction): TopicInteraction {
  return interaction === 'patch' ? 'update' : interaction;
}

/** The triggers of the topic that the event's type and interaction could fire. */
export function candidateTriggers(topic: SubscriptionTopicDefinition, resourceType: string, interaction: EventInteraction): ResourceTrigger[] {
  const kind = topicInteraction(interaction);
  return topic.triggers.filter((t) => t.resource === resourceType && t.interactions.includes(kind));
}

function variable(resource: Resource | undefined): TypedValue {
  // An absent version is the empty collection: an undefined value evaluates to nothing.
  return resource === undefined ? { type: 'undefined', value: undefined } : toTypedValue(resource);
}

/** True when the trigger's criterion holds for this pair of versions (no criterion: always). */
export function triggerFires(trigger: ResourceTrigger, current: Resource | undefined, previous: Resource | undefined): boolean {
  if (trigger.fhirPathCriteria === undefined) {
    return true;
  }
  const input = current ?? previous;
  if (input === undefined) {
    return false;
  }
  const result = evalFhirPathTyped(trigger.fhirPathCriteria, [toTypedValue(input)], { '%current': variable(current), '%previous': variable(previous), current: variable(current), previous: variable(previous) });
  return result.length === 1 && result[0]?.value === true;
}
