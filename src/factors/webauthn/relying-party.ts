/**
 * Who Twofold is to a security key (PRODUCT.md §2.9, §6; SECURITY.md rule 35): the relying party
 * ID is PUBLIC_URL's host and the only origin a response may come from is PUBLIC_URL's origin.
 * Both come from configuration, never from the request. A browser refuses an IP address as a
 * relying party ID, so on such a PUBLIC_URL the method is not offered at all.
 */
import { isIP } from 'node:net';

export type RelyingParty = { offered: true; rpID: string; origin: string; name: string } | { offered: false; why: string };

export function relyingPartyOf(publicURL: URL): RelyingParty {
  const host = publicURL.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    return { offered: false, why: `Security keys are not offered: PUBLIC_URL's host ${host} is an IP address, which browsers refuse as a WebAuthn relying party ID. Use a domain name (localhost works in development).` };
  }
  return { offered: true, rpID: host, origin: publicURL.origin, name: 'Twofold' };
}
