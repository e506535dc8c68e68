/**
 * What a 2026-07-28 client must see in every answer relayed from a 2025 upstream: `resultType` on
 * every result, `ttlMs`/`cacheScope` on cacheable ones, no 2025-only fields, and error codes the
 * revision allows.
 */
import type { JsonRpcErrorObject, Params } from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import { declaredParams } from './param-headers.js';

export interface CachePolicy {
  /** Upper bound on ttlMs for any cacheable result the gateway sends. */
  readonly maxTtlMs: number;
}

/**
 * Stamps a complete result. Every list the gateway relays is filtered per principal (or will be),
 * so it leaves as `cacheScope: "private"` whatever the upstream said: no shared cache may hand one
 * user's catalog to another.
 */
export function completeResult(method: string, result: Params, cache: CachePolicy): Params {
  const stamped: Params = { ...result, resultType: 'complete' };
  if (methodFacts(method).cacheable) {
    const upstreamTtl = typeof result.ttlMs === 'number' && result.ttlMs >= 0 ? result.ttlMs : 0;
    stamped.ttlMs = Math.min(upstreamTtl, cache.maxTtlMs);
    stamped.cacheScope = 'private';
  }
  if (method === 'tools/list' && Array.isArray(result.tools)) {
    // A tool whose x-mcp-header declarations break the revision's rules is excluded (as clients must);
    // tasks moved to an extension in 2026-07-28, so a tool's `execution` (2025 task support) goes.
    stamped.tools = result.tools
      .filter(
        (tool) =>
          tool !== null &&
          typeof tool === 'object' &&
          declaredParams((tool as Params).inputSchema) !== undefined,
      )
      .map((tool) => {
        const { execution: _execution, ...rest } = tool as Record<string, unknown>;
        return rest;
      });
  }
  return stamped;
}

/** 2026-07-28 retires -32002 (resource not found → -32602) and the -32000..-32019 range. */
export function modernError(error: JsonRpcErrorObject): JsonRpcErrorObject {
  if (error.code === -32002) return { ...error, code: -32602 };
  if (error.code <= -32000 && error.code >= -32019) return { ...error, code: -32603 };
  return error;
}

/** Server capabilities as a 2026-07-28 client may see them. */
export function modernCapabilities(capabilities: Params): Params {
  const { tasks: _tasks, ...rest } = capabilities;
  return rest;
}

/** The HTTP status 2026-07-28 requires for an error answer (404 for an unknown method, 400 for the envelope errors). */
export function httpStatusFor(error: JsonRpcErrorObject | undefined): number {
  if (!error) return 200;
  if (error.code === -32601) return 404;
  if (error.code === -32020 || error.code === -32021 || error.code === -32022) return 400;
  return 200;
}
