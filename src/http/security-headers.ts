/** Headers every response carries: nothing here is cacheable, sniffable or frameable. */
import type { ServerResponse } from 'node:http';

export const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['x-frame-options', 'DENY'],
  ['cache-control', 'no-store'],
  // The gateway serves JSON and event streams: nothing in them may load or frame anything.
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
];

/** HSTS for requests that arrived over TLS (here or at a trusted proxy): a year, with subdomains. */
export const HSTS = 'max-age=31536000; includeSubDomains';

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
}
