/**
 * A shipped topic as the Subscriptions Backport IG publishes an R5 SubscriptionTopic on an R4
 * server: a Basic resource with code `SubscriptionTopic` (http://hl7.org/fhir/fhir-types) carrying
 * the cross-version extensions of the R5 elements
 * (https://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition-backport-subscription-topic-r4.html
 * names them http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.*).
 *
 * R4 Basic has no `url` search parameter, so the canonical URL is also an identifier
 * (system urn:ietf:rfc:3986): `GET Basic?identifier={canonical}` finds a topic by it and
 * `GET Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic` lists them all.
 */
import type { Basic, Extension } from '@medplum/fhirtypes';
import type { SubscriptionTopicDefinition } from './subscription-topics.js';

const EXT = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.';
export const FHIR_TYPES_SYSTEM = 'http://hl7.org/fhir/fhir-types';
export const TOPIC_VERSION = '1.0.0';

function trigger(t: SubscriptionTopicDefinition['triggers'][number]): Extension {
  return {
    url: `${EXT}resourceTrigger`,
    extension: [
      { url: 'description', valueMarkdown: t.description },
      { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${t.resource}` },
      ...t.interactions.map((code) => ({ url: 'supportedInteraction', valueCode: code })),
      ...(t.fhirPathCriteria !== undefined ? [{ url: 'fhirPathCriteria', valueString: t.fhirPathCriteria }] : []),
    ],
  };
}

/** The Basic resource the server installs for a topic (read-only, like the definitions of profiles/). */
export function topicResource(topic: SubscriptionTopicDefinition): Basic & { id: string } {
  return {
    resourceType: 'Basic',
    id: topic.id,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: topic.url }],
    code: { coding: [{ system: FHIR_TYPES_SYSTEM, code: 'SubscriptionTopic' }] },
    extension: [
      { url: `${EXT}url`, valueUri: topic.url },
      { url: `${EXT}version`, valueString: TOPIC_VERSION },
      { url: `${EXT}name`, valueString: topic.name },
      { url: `${EXT}title`, valueString: topic.title },
      { url: `${EXT}status`, valueCode: 'active' },
      { url: `${EXT}description`, valueMarkdown: topic.description },
      ...topic.triggers.map(trigger),
      ...topic.canFilterBy.map((f) => ({
        url: `${EXT}canFilterBy`,
        extension: [
          { url: 'description', valueMarkdown: f.description },
          { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${f.resource}` },
          { url: 'filterParameter', valueString: f.filterParameter },
        ],
      })),
      ...[...new Set(topic.triggers.map((t) => t.resource))].map((resource) => ({
        url: `${EXT}notificationShape`,
        extension: [{ url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${resource}` }],
      })),
    ],
  };
}
