/** Which MCP endpoint a path names: /servers/<name>/mcp, or /mcp for the single upstream. */
export interface Endpoint {
  readonly upstream: string;
  /** The endpoint's path, which also names it as a protected resource. */
  readonly path: string;
}

const SERVER_PATH = /^\/servers\/([a-z0-9][a-z0-9_-]{0,62})\/mcp$/;

/**
 * Resolves an MCP path to an upstream name, or undefined when the path is not an MCP endpoint.
 * With several upstreams, /mcp is reserved for the aggregated endpoint and is not served yet.
 */
export function resolveEndpoint(pathname: string, upstreams: readonly string[]): Endpoint | undefined {
  if (pathname === '/mcp')
    return upstreams.length === 1 ? { upstream: upstreams[0] as string, path: pathname } : undefined;
  const match = SERVER_PATH.exec(pathname);
  if (!match || !upstreams.includes(match[1] as string)) return undefined;
  return { upstream: match[1] as string, path: pathname };
}
