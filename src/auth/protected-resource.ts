/** RFC 9728 protected-resource metadata for one MCP endpoint: where to get tokens for it. */
import type { AuthConfig } from '../config/auth-schema.js';
import { resourceUrl } from '../http/resource-url.js';

export function protectedResourceMetadata(
  auth: AuthConfig,
  publicUrl: URL,
  path: string,
  upstream: string,
  /** The scope vocabulary, when the gateway is its own authorization server. */
  scopes: readonly string[] = [],
): object {
  // Our own server first: clients use the first one they support.
  const servers = [
    auth.oauth ? publicUrl.origin : undefined,
    auth.jwt?.issuer,
    auth.introspection?.issuer,
  ].filter((s): s is string => s !== undefined);
  const supported = auth.oauth ? scopes : auth.defaultScopes;
  return {
    resource: resourceUrl(publicUrl, path),
    ...(servers.length > 0 ? { authorization_servers: [...new Set(servers)] } : {}),
    ...(supported.length > 0 ? { scopes_supported: supported } : {}),
    bearer_methods_supported: ['header'],
    resource_name: `Portcullis: ${upstream}`,
  };
}
