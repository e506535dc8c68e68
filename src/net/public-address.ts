/**
 * The SSRF rule for any address the gateway connects to on a caller's say-so (URL arguments of
 * tools, Client ID Metadata Documents): only public unicast. Private, loopback, link-local (cloud
 * metadata), CGNAT, unique-local, multicast, reserved and the IPv6 forms that embed an IPv4
 * address (mapped, NAT64, 6to4, Teredo) are all refused; an IPv4-mapped address is judged as the
 * IPv4 address it carries.
 */
import ipaddr from 'ipaddr.js';

/** The address's range name (`unicast` for a public one, `private`, `loopback`, `linkLocal`…). */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  return ipaddr.process(address).range();
}

export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}
