/**
 * The MCP protocol revisions the gateway speaks, and the facts about them every layer needs.
 * 2024-11-05 predates Streamable HTTP but is still negotiated by old servers, and SDK clients then
 * send it in the header. 2026-07-28 is stateless: each request carries its own envelope in `_meta`.
 */

/** The session revisions (initialize, Mcp-Session-Id), newest first. */
export const SESSION_REVISIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

/** What a client that sends no MCP-Protocol-Version header speaks (transports: SHOULD assume 2025-03-26). */
export const HEADERLESS_REVISION = '2025-03-26';

/** Revisions in which a POST body may be a JSON-RPC batch (2025-06-18 removed batching). */
const BATCH_REVISIONS = new Set(['2025-03-26', '2024-11-05']);

const SUPPORTED = new Set<string>(SESSION_REVISIONS);

export function isSupportedRevision(version: string): boolean {
  return SUPPORTED.has(version);
}

export function allowsBatch(version: string): boolean {
  return BATCH_REVISIONS.has(version);
}

/** The stateless revisions (per-request envelope, server/discover), newest first. */
export const MODERN_REVISIONS = ['2026-07-28'] as const;

/** The `_meta` keys of the 2026-07-28 envelope. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** A 2026-07-28 request's envelope, already checked against its headers. */
export interface ModernEnvelope {
  readonly protocolVersion: string;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientInfo: Record<string, unknown> | undefined;
  readonly logLevel: string | undefined;
  /** The request's Mcp-Param-* headers (lower-case names), checked against the tool schema later. */
  readonly paramHeaders: Readonly<Record<string, string>>;
}
