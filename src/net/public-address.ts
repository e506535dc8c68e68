/**
 * The SSRF rule for any address the gateway connects to on a caller's say-so (URL arguments of
 * tools, Client ID Metadata Documents): only public unicast. Private, loopback, link-local (cloud
 * metadata), CGNAT, unique-local, multicast, reserved and the IPv6 forms that embed an IPv4
 * address (mapped, IPv4-compatible, NAT64, 6to4, Teredo) are all refused; an IPv4-mapped address
 * is judged as the IPv4 address it carries.
 */
import ipaddr from 'ipaddr.js';

/** The address's range name (`unicast` for a public one, `private`, `loopback`, `linkLocal`…). */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  // ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated) is unicast to ipaddr.js, yet tunnels deliver it to a.b.c.d.
  if (range === 'unicast' && parsed.kind() === 'ipv6' && parsed.match(ipaddr.IPv6.parse('::'), 96))
    return 'reserved';
  return range;
}

export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}
