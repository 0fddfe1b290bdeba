/**
 * A topic-based Subscription of the Subscriptions Backport IG for R4
 * (https://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition-backport-subscription.html):
 * `criteria` is the topic's canonical URL and each `backport-filter-criteria` extension on
 * `_criteria` a filter `Type?parameter=value` with parameters the topic allows (canFilterBy).
 *
 * Filters of the event's type must all match. When filters are given, an event of a type none of
 * them names is not notified: a subscriber to a topic over several types (the logbook) names each
 * type it wants.
 */
import type { OperationOutcomeIssue, Subscription } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';
import { parseCriteria, type Criteria } from './subscription-channel.js';
import { isTopicCriteria, topicByUrl, type SubscriptionTopicDefinition } from './subscription-topics.js';

export const FILTER_CRITERIA_URL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
export const FILTER_EXPRESSION = `Subscription.criteria.extension('${FILTER_CRITERIA_URL}')`;

export interface TopicSubscription {
  readonly topic: SubscriptionTopicDefinition;
  readonly filters: readonly Criteria[];
}

type WithCriteriaElement = Subscription & { _criteria?: { extension?: Array<{ url?: string; valueString?: string }> } };

function filterTexts(subscription: Subscription): string[] {
  return ((subscription as WithCriteriaElement)._criteria?.extension ?? [])
    .filter((e) => e.url === FILTER_CRITERIA_URL)
    .map((e) => e.valueString ?? '');
}

/** The topic and filters of a topic-based Subscription; undefined for R4 criteria or an unknown topic. */
export function topicSubscription(subscription: Subscription): TopicSubscription | undefined {
  const topic = topicByUrl(subscription.criteria);
  if (topic === undefined) {
    return undefined;
  }
  const filters = filterTexts(subscription)
    .map((text) => parseCriteria(text))
    .filter((c): c is Criteria => c !== undefined);
  return { topic, filters };
}

/** The filters that apply to an event of this type; undefined when the Subscription's filters leave the type out. */
export function filtersFor(subscription: TopicSubscription, resourceType: string): Criteria[] | undefined {
  const own = subscription.filters.filter((f) => f.resourceType === resourceType);
  return own.length === 0 && subscription.filters.length > 0 ? undefined : own;
}

/** 422 issues for the topic and its filters, each naming its element; empty when acceptable or not topic-based. */
export function topicIssues(subscription: Subscription): OperationOutcomeIssue[] {
  if (!isTopicCriteria(subscription.criteria)) {
    return filterTexts(subscription).length > 0
      ? [issue({ code: 'not-supported', text: 'Filter criteria need a topic as criteria', expression: FILTER_EXPRESSION })]
      : [];
  }
  const topic = topicByUrl(subscription.criteria);
  if (topic === undefined) {
    return [issue({ code: 'not-supported', text: 'The criteria name no SubscriptionTopic this server offers', expression: 'Subscription.criteria' })];
  }
  const issues: OperationOutcomeIssue[] = [];
  for (const text of filterTexts(subscription)) {
    const criteria = parseCriteria(text);
    const allowed = topic.canFilterBy.filter((f) => f.resource === criteria?.resourceType).map((f) => f.filterParameter);
    const refused = criteria === undefined || allowed.length === 0 || criteria.params.length === 0 || criteria.params.some(([name]) => !allowed.includes(name.split(':')[0] ?? name));
    if (refused) {
      issues.push(issue({ code: 'not-supported', text: `The topic does not allow the filter ${text}`, expression: FILTER_EXPRESSION }));
    }
  }
  return issues;
}
