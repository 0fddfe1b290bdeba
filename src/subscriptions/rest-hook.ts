/**
 * Sends one notification Bundle to a rest-hook endpoint (https://hl7.org/fhir/R4/subscription.html#2.46.7.1):
 * POST with the channel's headers, as application/fhir+json. Any answer but 2xx, a redirect (not
 * followed: it could lead to an address the endpoint check refused), a timeout or a refused
 * connection counts as a failure; the caller retries.
 */
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { assertEndpointAllowed, type EndpointPolicy } from './endpoint-safety.js';
import { FHIR_JSON } from './subscription-channel.js';
import { stringifyFhir } from '../fhir/decimal-text.js';

/** channel.header entries are `Name: value` strings (R4); malformed ones are left out. */
function channelHeaders(subscription: Subscription): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of subscription.channel?.header ?? []) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    if (colon > 0 && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      headers[name] = line.slice(colon + 1).trim();
    }
  }
  return headers;
}

export class DeliveryFailure extends Error {
  override readonly name = 'DeliveryFailure';
}

export async function postNotification(subscription: Subscription, bundle: Bundle, policy: EndpointPolicy, timeoutMs: number): Promise<void> {
  const endpoint = subscription.channel?.endpoint;
  if (endpoint === undefined) {
    throw new DeliveryFailure('no endpoint');
  }
  await assertEndpointAllowed(endpoint, policy);
  let status: number;
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { ...channelHeaders(subscription), 'content-type': FHIR_JSON },
      body: stringifyFhir(bundle),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    // Drain the body so the connection can be reused or closed.
    await response.arrayBuffer();
  } catch {
    throw new DeliveryFailure('endpoint unreachable');
  }
  if (status < 200 || status > 299) {
    throw new DeliveryFailure(`endpoint answered ${status}`);
  }
}
