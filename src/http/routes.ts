/**
 * Which MCP endpoint a path names: /servers/<name>/mcp for one upstream; /mcp — the single upstream
 * when there is one, else the aggregated endpoint serving them all; a virtual server's own path.
 */
export interface Endpoint {
  /** The upstream served, or the label of an aggregated endpoint (AGGREGATE, `@<name>`). */
  readonly upstream: string;
  /** The endpoint's path, which also names it as a protected resource. */
  readonly path: string;
  /** On the aggregated endpoint: which upstream and name an exposed name stands for. */
  readonly names?: EndpointNames;
}

/** The upstream name the aggregated endpoint goes by in sessions, audit events and metrics. */
export const AGGREGATE = '*';

/** What the stages before a session need of an aggregated endpoint's names (per-tool limits, concurrency). */
export interface EndpointNames {
  /** The upstream and its own name for an exposed tool name; undefined when no upstream has it. */
  tool(exposed: string): { readonly upstream: string; readonly name: string } | undefined;
  /** The upstreams a request will reach (all of them for a list). */
  targets(method: string, params: Readonly<Record<string, unknown>> | undefined): readonly string[];
}

const SERVER_PATH = /^\/servers\/([a-z0-9][a-z0-9_-]{0,62})\/mcp$/;

/** An aggregated endpoint as the front door knows it: its label and its names. */
export interface AggregateRoute {
  readonly upstream: string;
  readonly names: EndpointNames;
}

/**
 * Resolves an MCP path to its endpoint, or undefined when the path is not an MCP endpoint;
 * `aggregates` are the aggregated endpoints by path.
 */
export function resolveEndpoint(
  pathname: string,
  upstreams: readonly string[],
  aggregates: ReadonlyMap<string, AggregateRoute> = new Map(),
): Endpoint | undefined {
  if (pathname === '/mcp' && upstreams.length === 1)
    return { upstream: upstreams[0] as string, path: pathname };
  const aggregate = aggregates.get(pathname);
  if (aggregate) return { upstream: aggregate.upstream, path: pathname, names: aggregate.names };
  const match = SERVER_PATH.exec(pathname);
  if (!match || !upstreams.includes(match[1] as string)) return undefined;
  return { upstream: match[1] as string, path: pathname };
}
