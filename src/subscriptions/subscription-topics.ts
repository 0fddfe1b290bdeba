/**
 * The SubscriptionTopics Schakel ships (R5 SubscriptionTopic, offered to R4 clients the way the
 * Subscriptions Backport IG does it: https://hl7.org/fhir/uv/subscriptions-backport/topics.html).
 * A topic names what happened (its resource triggers: type, interactions and a FHIRPath criterion
 * over `%current` and `%previous`, the R5 SubscriptionTopic.resourceTrigger.fhirPathCriteria
 * variables) and what a subscriber may narrow it by (canFilterBy: search parameters of the
 * triggering type, given as `backport-filter-criteria`).
 *
 * These definitions are the one source: topic-resource.ts renders them as the Basic resources the
 * server installs at start, the matcher (topic-match.ts) evaluates them, the CapabilityStatement
 * lists their canonical URLs. The domain behind each is in docs/care-workflows.md.
 */

import { TASK_BUSINESS_STATUS_SYSTEM } from '../domain/reminders/business-status.js';

export const TOPIC_BASE = 'http://schakel.nl/fhir/SubscriptionTopic/';

export type TopicInteraction = 'create' | 'update' | 'delete';

export interface ResourceTrigger {
  readonly description: string;
  readonly resource: string;
  readonly interactions: readonly TopicInteraction[];
  /**
   * FHIRPath over `%current` (the version the event made; empty for a delete) and `%previous`
   * (the version before it; empty for a create). Absent: every event of the interactions.
   */
  readonly fhirPathCriteria?: string;
}

export interface TopicFilter {
  readonly resource: string;
  readonly filterParameter: string;
  readonly description: string;
}

export interface SubscriptionTopicDefinition {
  /** The Basic resource's id. */
  readonly id: string;
  readonly url: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly triggers: readonly ResourceTrigger[];
  readonly canFilterBy: readonly TopicFilter[];
}

// A referral Task is a Task whose focus is the referral's ServiceRequest (domain/referral/referral-task-hook.ts);
// for a delete only %previous is there.
const REFERRAL = "(%current | %previous).focus.reference.where($this.startsWith('ServiceRequest/')).exists()";
const STATUS_CHANGED = '%previous.exists() and %previous.status != %current.status';

// The code and system the reminder pass sets (domain/reminders/business-status.ts); a code of the same
// name from another system is not ours to interpret.
const MARKED_OVERDUE = `businessStatus.coding.where(system = '${TASK_BUSINESS_STATUS_SYSTEM}' and code = 'overdue').exists()`;

function topic(id: string, fields: Omit<SubscriptionTopicDefinition, 'id' | 'url' | 'name'>): SubscriptionTopicDefinition {
  return { id: `topic-${id}`, url: `${TOPIC_BASE}${id}`, name: id, ...fields };
}

const filter = (resource: string, filterParameter: string, description: string): TopicFilter => ({ resource, filterParameter, description });

const LOGBOOK_TYPES = ['Observation', 'Communication', 'Procedure', 'Encounter'] as const;

export const SHIPPED_TOPICS: readonly SubscriptionTopicDefinition[] = [
  topic('referral-task-owner', {
    title: 'A referral for, or changed at, an organisation',
    description: 'A referral Task is created, changed or deleted, with the subscriber\'s organisation as its owner (filter `Task?owner=Organization/{id}`).',
    triggers: [{ description: 'A referral Task created, changed or deleted', resource: 'Task', interactions: ['create', 'update', 'delete'], fhirPathCriteria: REFERRAL }],
    canFilterBy: [
      filter('Task', 'owner', 'The organisation (or role) the referral is addressed to'),
      filter('Task', 'patient', 'The patient of the referral'),
      filter('Task', 'status', 'The Task status after the change'),
    ],
  }),
  topic('referral-task-status', {
    title: 'A referral I requested changed status',
    description: 'The status of a referral Task changed (accepted, rejected, completed...); filter by the requester (`Task?requester=PractitionerRole/{id}`).',
    triggers: [{ description: 'A referral Task whose status changed', resource: 'Task', interactions: ['update'], fhirPathCriteria: `${REFERRAL} and ${STATUS_CHANGED}` }],
    canFilterBy: [
      filter('Task', 'requester', 'Who requested the referral'),
      filter('Task', 'patient', 'The patient of the referral'),
      filter('Task', 'status', 'The new status'),
    ],
  }),
  topic('referral-feedback', {
    title: 'Feedback on a referral',
    description: 'Feedback on a referral was written: a Communication based on the referral\'s ServiceRequest (profiles/feedback.json). Filter by its recipient or by the referral.',
    triggers: [
      {
        description: 'A Communication based on a referral',
        resource: 'Communication',
        interactions: ['create'],
        fhirPathCriteria: "%current.basedOn.reference.where($this.startsWith('ServiceRequest/')).exists()",
      },
    ],
    canFilterBy: [
      filter('Communication', 'recipient', 'Whom the feedback is addressed to'),
      filter('Communication', 'based-on', 'The referral (ServiceRequest) the feedback is on'),
      filter('Communication', 'patient', 'The patient'),
    ],
  }),
  topic('logbook-entry', {
    title: 'An entry added to, or removed from, the joint logbook',
    description:
      'An Observation, Communication, Procedure or Encounter was added to (or deleted from) a patient\'s joint logbook (docs/care-workflows.md). A user is told only about patients whose care team they are on (the need-to-know narrowing of every read); filter by patient.',
    triggers: LOGBOOK_TYPES.map((resource) => ({ description: `A ${resource} added or deleted`, resource, interactions: ['create', 'delete'] as const })),
    canFilterBy: LOGBOOK_TYPES.flatMap((resource) => [filter(resource, 'patient', 'The patient whose logbook it is'), filter(resource, 'category', 'The kind of entry')]),
  }),
  topic('measurement-completed', {
    title: 'A questionnaire completed for a measurement',
    description: 'A measurement Task was completed with a QuestionnaireResponse as its output (domain/schedules/task-completion.ts).',
    triggers: [
      {
        description: 'A Task completed with a QuestionnaireResponse output',
        resource: 'Task',
        interactions: ['update'],
        fhirPathCriteria:
          "%current.status = 'completed' and %previous.status != 'completed' and %current.output.value.ofType(Reference).reference.where($this.startsWith('QuestionnaireResponse/')).exists()",
      },
    ],
    canFilterBy: [filter('Task', 'owner', 'Who performs the measurement'), filter('Task', 'patient', 'The patient'), filter('Task', 'requester', 'Who asked for it')],
  }),
  topic('measurement-due', {
    title: 'A measurement became overdue',
    description:
      'A measurement Task\'s businessStatus became `overdue` (http://schakel.nl/fhir/CodeSystem/task-business-status), as the reminder pass marks a Task whose window passed unanswered (domain/reminders/).',
    triggers: [
      {
        description: 'A Task whose businessStatus became overdue',
        resource: 'Task',
        interactions: ['create', 'update'],
        // On a create %previous is empty, so its where(...).exists() is false (FHIRPath, Collections).
        fhirPathCriteria: `%current.${MARKED_OVERDUE} and %previous.${MARKED_OVERDUE}.not()`,
      },
    ],
    canFilterBy: [filter('Task', 'owner', 'Who performs the measurement'), filter('Task', 'patient', 'The patient'), filter('Task', 'requester', 'Who asked for it')],
  }),
  topic('care-bridge-limit', {
    title: 'A care-bridge limit warning',
    description: 'A DetectedIssue was recorded for a patient, e.g. a care-bridge visit over the plan\'s limit (domain/care-bridge/visit-findings.ts).',
    triggers: [{ description: 'A DetectedIssue recorded', resource: 'DetectedIssue', interactions: ['create'] }],
    canFilterBy: [filter('DetectedIssue', 'patient', 'The patient'), filter('DetectedIssue', 'code', 'The kind of warning')],
  }),
];

const BY_URL: ReadonlyMap<string, SubscriptionTopicDefinition> = new Map(SHIPPED_TOPICS.map((t) => [t.url, t]));

/** The shipped topic with this canonical URL (a `|version` suffix is ignored), if any. */
export function topicByUrl(url: string | undefined): SubscriptionTopicDefinition | undefined {
  return url === undefined ? undefined : BY_URL.get(url.split('|')[0] ?? url);
}

/** Whether Subscription.criteria names a topic (a canonical URL) rather than an R4 search. */
export function isTopicCriteria(criteria: string | undefined): boolean {
  return criteria !== undefined && /^https?:\/\//.test(criteria);
}
