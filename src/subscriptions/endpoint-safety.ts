/**
 * Where a rest-hook may send: a server inside a care network must not become a way to reach
 * its own internals (server-side request forgery). In production only https, and no loopback,
 * private or link-local address unless SUBSCRIPTION_ALLOW_PRIVATE_ENDPOINTS; the name is checked
 * when the Subscription is written and its addresses again before each delivery, since a name can
 * resolve elsewhere later.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { SubscriptionConfig } from '../config/config.js';

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['::ffff:0:0', 96],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export type EndpointPolicy = Pick<SubscriptionConfig, 'allowHttp' | 'allowPrivateEndpoints'>;

function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function hostOf(url: URL): string {
  // URL keeps IPv6 literals in brackets.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Why the endpoint may not be used as written, or undefined when it may. */
export function endpointRefusal(endpoint: string, policy: EndpointPolicy): string | undefined {
  const url = new URL(endpoint);
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return 'The endpoint must use https';
  }
  const host = hostOf(url);
  if (!policy.allowPrivateEndpoints && (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))) {
    return 'The endpoint may not be a loopback or private address';
  }
  return undefined;
}

/** Before sending: the policy again, and every address the name resolves to now. */
export async function assertEndpointAllowed(endpoint: string, policy: EndpointPolicy): Promise<void> {
  const refusal = endpointRefusal(endpoint, policy);
  if (refusal !== undefined) {
    throw new Error(refusal);
  }
  if (policy.allowPrivateEndpoints) {
    return;
  }
  const host = hostOf(new URL(endpoint));
  const addresses = isIP(host) !== 0 ? [{ address: host }] : await lookup(host, { all: true });
  if (addresses.some((a) => isPrivateAddress(a.address))) {
    throw new Error('The endpoint resolves to a loopback or private address');
  }
}
