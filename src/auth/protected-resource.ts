/** RFC 9728 protected-resource metadata for one MCP endpoint: where to get tokens for it. */
import type { AuthConfig } from '../config/auth-schema.js';
import { resourceUrl } from '../http/resource-url.js';

export function protectedResourceMetadata(
  auth: AuthConfig,
  publicUrl: URL,
  path: string,
  upstream: string,
): object {
  const servers = [auth.jwt?.issuer, auth.introspection?.issuer].filter((s): s is string => s !== undefined);
  return {
    resource: resourceUrl(publicUrl, path),
    ...(servers.length > 0 ? { authorization_servers: [...new Set(servers)] } : {}),
    ...(auth.defaultScopes.length > 0 ? { scopes_supported: auth.defaultScopes } : {}),
    bearer_methods_supported: ['header'],
    resource_name: `Portcullis: ${upstream}`,
  };
}
