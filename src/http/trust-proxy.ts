/**
 * Fastify's `trustProxy` from TRUST_PROXY (config.ts): whose X-Forwarded-For may name the
 * client's address (request.ip: the audit log's network address and the rate limit's key before
 * authentication), and whose X-Forwarded-Proto/-Host the base URL in Location and Bundle links.
 */
import type { TrustProxy } from '../config/config.js';

/** (address, hop) => trusted, as proxy-addr asks it: hop 0 is the connecting peer, 1 the address it forwarded for, ... */
type TrustProxyFunction = (address: string, hop: number) => boolean;

export function trustProxyOption(setting: TrustProxy): false | string[] | TrustProxyFunction {
  if (setting === false) {
    return false;
  }
  if (typeof setting === 'number') {
    // A hop count trusts the nearest `setting` senders whoever they are. Fastify 5 fails a bare
    // number closed (it cannot tell a proxy from a client that connects directly), so the count is
    // given as a function: safe only where nothing but the proxies can reach the node
    // (docs/configuration.md says so; an address list is the safer form).
    const hops = setting;
    return (_address, hop) => hop < hops;
  }
  return [...setting];
}
