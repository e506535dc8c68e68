/** Reads a POST body within the size cap and decodes it into checked JSON-RPC messages. */

import { parseBody } from '../core/jsonrpc.js';
import { readBody } from '../http/read-body.js';
import type { RequestContext } from '../pipeline/context.js';

export interface ParseLimits {
  readonly maxBody: number;
  readonly maxJsonDepth: number;
  readonly maxBatch: number;
}

export function parseMessages(limits: ParseLimits): (ctx: RequestContext) => Promise<void> {
  return async function parseJsonRpc(ctx) {
    if (ctx.req.method !== 'POST') return;
    const parsed = parseBody(await readBody(ctx.req, limits.maxBody), limits);
    ctx.messages = parsed.messages;
    ctx.isBatch = parsed.isBatch;
  };
}
