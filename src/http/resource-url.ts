/**
 * RFC 8707/9728 identifiers: each MCP endpoint is a protected resource named by its public URL, and
 * its metadata lives at /.well-known/oauth-protected-resource followed by the endpoint's path.
 */
export const PRM_PREFIX = '/.well-known/oauth-protected-resource';

export function resourceUrl(publicUrl: URL, path: string): string {
  return `${publicUrl.origin}${path}`;
}

export function resourceMetadataUrl(publicUrl: URL, path: string): string {
  return `${publicUrl.origin}${PRM_PREFIX}${path}`;
}
