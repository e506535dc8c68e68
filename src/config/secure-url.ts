/**
 * The Loomio seed's rule for any URL the gateway sends credentials or trust to (upstreams, JWKS,
 * introspection): https://, or plain http:// only where nobody can watch the wire (loopback) or to a
 * private host the operator named explicitly.
 */
import { isLoopbackHost } from '../net/loopback.js';

/** Why `raw` is not acceptable, or undefined when it is. */
export function insecureUrlReason(
  raw: string,
  allowPrivateHost: string | undefined,
  privateHostSetting: boolean,
): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL — write it like https://host/path';
  }
  if (url.username || url.password) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax is meant literally
    return 'must not carry a user name or password — put credentials in headers, filled from ${env:NAME}';
  }
  if (url.hash) return 'must not have a #fragment — remove it';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:')
    return `uses ${url.protocol} — only https:// (or http:// to loopback) is allowed`;
  const host = url.hostname;
  if (isLoopbackHost(host)) return undefined;
  if (
    allowPrivateHost !== undefined &&
    host.toLowerCase() === allowPrivateHost.toLowerCase().replace(/^\[|\]$/g, '')
  ) {
    return undefined;
  }
  return privateHostSetting
    ? `is plain http:// to ${host} — use https://, or if ${host} is a private host on a trusted network, set allowPrivateHost: ${host}`
    : `is plain http:// to ${host} — use https:// (plain http:// is accepted only for loopback)`;
}
