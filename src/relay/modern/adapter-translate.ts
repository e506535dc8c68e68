/**
 * The translator between a 2025 client session and a 2026-07-28 upstream, as pure functions: the
 * per-request envelope the session's state becomes, initialize answered from server/discover, the
 * 2026 result a 2025 client may see, the listen filter for list_changed, and the retry that carries
 * a round's answers. ModernUpstreamAdapter holds the state; this holds the rules.
 */
import type { JsonRpcNotification, Params } from '../../core/jsonrpc.js';
import { META, MODERN_REVISIONS, SESSION_REVISIONS } from '../../core/revisions.js';

/** What a 2025 session said about its client, which a 2026 upstream needs with every request. */
export interface SessionState {
  readonly clientCapabilities: Params;
  readonly clientInfo: Params | undefined;
  readonly logLevel: string | undefined;
}

/** The `_meta` envelope of every request the session sends upstream (2025 tasks are not carried). */
export function envelopeOf(state: SessionState): Params {
  const { tasks: _tasks, ...capabilities } = state.clientCapabilities;
  return {
    [META.protocolVersion]: MODERN_REVISIONS[0],
    [META.clientCapabilities]: capabilities,
    ...(state.clientInfo ? { [META.clientInfo]: state.clientInfo } : {}),
    ...(state.logLevel ? { [META.logLevel]: state.logLevel } : {}),
  };
}

/** initialize's result from the upstream's discovery: the client's revision when the gateway speaks it. */
export function initializeResultOf(requested: unknown, discovered: Params, upstreamName: string): Params {
  const meta = discovered._meta as Params | undefined;
  return {
    protocolVersion: (SESSION_REVISIONS as readonly unknown[]).includes(requested)
      ? requested
      : SESSION_REVISIONS[0],
    capabilities: (discovered.capabilities as Params | undefined) ?? {},
    serverInfo: (meta?.[META.serverInfo] as Params | undefined) ?? { name: upstreamName, version: 'unknown' },
    ...(typeof discovered.instructions === 'string' ? { instructions: discovered.instructions } : {}),
  };
}

/** A 2026 result as a 2025 client expects it: without resultType and the cache hints. */
export function legacyResult(result: Params): Params {
  const { resultType: _type, ttlMs: _ttl, cacheScope: _scope, ...rest } = result;
  return rest;
}

/** The list_changed notifications to listen for: those the upstream declares it sends. */
export function listChangedFilter(capabilities: Params): Params {
  const caps = capabilities as Record<string, Params | undefined>;
  return {
    ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
    ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
    ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
  };
}

/** What the retry after an input_required round adds to the request: the answers, the echoed state. */
export function retryParams(round: Params, answers: readonly (readonly [string, Params])[]): Params {
  return {
    ...(answers.length > 0 ? { inputResponses: Object.fromEntries(answers) } : {}),
    ...(typeof round.requestState === 'string' ? { requestState: round.requestState } : {}),
  };
}

/** A listen stream's notification as a 2025 session gets it: without the subscription id. */
export function untagged(message: JsonRpcNotification): JsonRpcNotification {
  const meta = message.params?._meta as Params | undefined;
  if (meta?.[META.subscriptionId] === undefined) return message;
  const { [META.subscriptionId]: _id, ...rest } = meta;
  return { ...message, params: { ...message.params, _meta: rest } };
}
