/**
 * MCP protocol revisions the Streamable HTTP front door serves. 2024-11-05 predates Streamable HTTP
 * but is still negotiated by old servers, and SDK clients then send it in the header.
 */
import type { RequestContext } from '../http/context.js';
import { GatewayError } from '../http/errors.js';

export const SESSION_REVISIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

/** What a client that sends no MCP-Protocol-Version header speaks (transports: SHOULD assume 2025-03-26). */
export const HEADERLESS_REVISION = '2025-03-26';

/** Revisions in which a POST body may be a JSON-RPC batch (2025-06-18 removed batching). */
const BATCH_REVISIONS = new Set(['2025-03-26', '2024-11-05']);

const SUPPORTED = new Set<string>(SESSION_REVISIONS);

export function isSupportedRevision(version: string): boolean {
  return SUPPORTED.has(version);
}

/** Reads and checks MCP-Protocol-Version; an unsupported value is a 400 (MCP transports). */
export function checkProtocolVersion(ctx: RequestContext): void {
  if (ctx.modern) {
    ctx.protocolVersion = ctx.modern.protocolVersion;
    return;
  }
  const header = ctx.req.headers['mcp-protocol-version'];
  if (header === undefined) {
    ctx.protocolVersion = HEADERLESS_REVISION;
    return;
  }
  if (typeof header !== 'string' || !SUPPORTED.has(header)) {
    throw new GatewayError(
      400,
      'unsupported_protocol_version',
      `MCP-Protocol-Version ${JSON.stringify(header)} is not supported — this gateway speaks ${SESSION_REVISIONS.join(', ')}`,
    );
  }
  ctx.protocolVersion = header;
}

export function allowsBatch(version: string): boolean {
  return BATCH_REVISIONS.has(version);
}
