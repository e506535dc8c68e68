import { endpointPath } from '../config/endpoints-schema.js';
import type { Config } from '../config/schema.js';

/** Every MCP endpoint path: /mcp, one per upstream, and each virtual server's. */
export function endpointPaths(config: Config): string[] {
  return [
    '/mcp',
    ...Object.keys(config.upstreams).map((n) => `/servers/${n}/mcp`),
    ...Object.entries(config.endpoints).map(([name, endpoint]) => endpointPath(name, endpoint)),
  ];
}
