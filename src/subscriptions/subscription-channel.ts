/**
 * What Schakel accepts in a Subscription (https://hl7.org/fhir/R4/subscription.html) and how it
 * reads one: plain R4 criteria (`Type?params`) or a topic (topic-subscription.ts), a rest-hook
 * channel with an http(s) endpoint, and the channel extensions of the Subscriptions Backport IG
 * (https://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition-backport-subscription.html):
 * `backport-payload-content` on channel.payload (empty, id-only, full-resource),
 * `backport-heartbeat-period`, `backport-timeout` and `backport-max-count` on channel.
 */
import type { Subscription } from '@medplum/fhirtypes';
import { r4ResourceTypes } from '../fhir/definitions.js';
import { issue } from '../fhir/outcomes.js';
import type { QueryParams } from '../fhir/request.js';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isTopicCriteria } from './subscription-topics.js';
import { topicIssues } from './topic-subscription.js';

export const PAYLOAD_CONTENT_URL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
export const FHIR_JSON = 'application/fhir+json';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
export const HEARTBEAT_PERIOD_URL = `${BACKPORT}backport-heartbeat-period`;
export const TIMEOUT_URL = `${BACKPORT}backport-timeout`;
export const MAX_COUNT_URL = `${BACKPORT}backport-max-count`;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** Types a Subscription may not watch: its own notifications would feed it (Subscription), bookkeeping (AuditEvent). */
const UNWATCHABLE: ReadonlySet<string> = new Set(['Subscription', 'AuditEvent']);

export interface Criteria {
  readonly resourceType: string;
  readonly params: QueryParams;
}

/** `Type?a=b&c=d` as a type and search parameters; undefined when it is not of that form. */
export function parseCriteria(text: string | undefined): Criteria | undefined {
  if (text === undefined) {
    return undefined;
  }
  const question = text.indexOf('?');
  const resourceType = question < 0 ? text : text.slice(0, question);
  if (!r4ResourceTypes().includes(resourceType) || UNWATCHABLE.has(resourceType)) {
    return undefined;
  }
  const params: Array<readonly [string, string]> = [];
  for (const [key, value] of new URLSearchParams(question < 0 ? '' : text.slice(question + 1))) {
    params.push([key, value]);
  }
  return { resourceType, params };
}

/** The payload content the Subscription asks for; `empty` when channel.payload is absent (R4: no payload). */
export function payloadContent(subscription: Subscription): PayloadContent | undefined {
  const payload = subscription.channel?.payload;
  if (payload === undefined) {
    return 'empty';
  }
  const element = (subscription.channel as { _payload?: { extension?: Array<{ url?: string; valueCode?: string }> } })._payload;
  const code = element?.extension?.find((e) => e.url === PAYLOAD_CONTENT_URL)?.valueCode;
  // R4 without the extension: a mime type asks for the resource itself.
  const value = code ?? 'full-resource';
  return value === 'empty' || value === 'id-only' || value === 'full-resource' ? value : undefined;
}

/** Problems with the channel and criteria as 422 issues, each naming its element; empty when acceptable. */
export function channelIssues(subscription: Subscription): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const problem = (text: string, expression: string): void => {
    issues.push(issue({ code: 'not-supported', text, expression }));
  };
  // A topic's problems are named by topicIssues; R4 criteria must be a search.
  issues.push(...topicIssues(subscription));
  if (!isTopicCriteria(subscription.criteria) && parseCriteria(subscription.criteria) === undefined) {
    problem('criteria must be Type?parameters for a resource type this server can watch', 'Subscription.criteria');
  }
  const channel = subscription.channel;
  if (channel?.type !== 'rest-hook') {
    problem('Only rest-hook channels are supported', 'Subscription.channel.type');
  }
  const endpoint = channel?.endpoint;
  if (endpoint === undefined || endpoint === '') {
    issues.push(issue({ code: 'required', text: 'A rest-hook channel needs an endpoint', expression: 'Subscription.channel.endpoint' }));
  } else if (!URL.canParse(endpoint) || !['http:', 'https:'].includes(new URL(endpoint).protocol)) {
    problem('The endpoint must be an http(s) URL', 'Subscription.channel.endpoint');
  }
  if (channel?.payload !== undefined && channel.payload !== FHIR_JSON) {
    problem(`The payload must be ${FHIR_JSON}`, 'Subscription.channel.payload');
  }
  if (payloadContent(subscription) === undefined) {
    problem('Payload content is empty, id-only or full-resource (backport-payload-content)', 'Subscription.channel.payload');
  }
  for (const [url, name] of [
    [HEARTBEAT_PERIOD_URL, 'valueUnsignedInt'],
    [TIMEOUT_URL, 'valueUnsignedInt'],
    [MAX_COUNT_URL, 'valuePositiveInt'],
  ] as const) {
    const extension = channel?.extension?.find((e) => e.url === url);
    const value = extension?.[name];
    if (extension !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < (name === 'valuePositiveInt' ? 1 : 0))) {
      issues.push(issue({ code: 'value', text: `${url} needs a ${name}`, expression: `Subscription.channel.extension('${url}')` }));
    }
  }
  return issues;
}

/** The number of a channel extension (heartbeat period and timeout in seconds, max count); undefined when absent. */
export function channelNumber(subscription: Subscription, url: string): number | undefined {
  const extension = subscription.channel?.extension?.find((e) => e.url === url);
  const value = extension?.valueUnsignedInt ?? extension?.valuePositiveInt;
  return typeof value === 'number' && value > 0 ? value : undefined;
}
