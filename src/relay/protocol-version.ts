/** The MCP-Protocol-Version check of the 2025 session transport (revisions: src/core/revisions.ts). */

import { GatewayError } from '../core/errors.js';
import { HEADERLESS_REVISION, isSupportedRevision, SESSION_REVISIONS } from '../core/revisions.js';
import type { RequestContext } from '../pipeline/context.js';

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
  if (typeof header !== 'string' || !isSupportedRevision(header)) {
    throw new GatewayError(
      'unsupported_protocol_version',
      `MCP-Protocol-Version ${JSON.stringify(header)} is not supported — this gateway speaks ${SESSION_REVISIONS.join(', ')}`,
    );
  }
  ctx.protocolVersion = header;
}
