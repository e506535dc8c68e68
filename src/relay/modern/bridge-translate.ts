/**
 * The translator between a 2026-07-28 client and a 2025 upstream session, as pure functions: what
 * the gateway declares upstream, the params a 2025 server takes, the discovery result, the answer a
 * 2026 client gets, how mid-call server requests become `inputRequests` and the client's
 * `inputResponses` become answers upstream, and how `subscriptions/listen` maps onto 2025
 * capabilities. LegacyBridge holds the state; this holds the rules.
 */
import type { RequestId } from '../../core/errors.js';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, Params } from '../../core/jsonrpc.js';
import { META, MODERN_REVISIONS } from '../../core/revisions.js';
import { VERSION } from '../../core/version.js';
import { type CachePolicy, completeResult, modernCapabilities, modernError } from './results.js';

/** What the gateway declares to a 2025 upstream: everything it can bridge. */
const BRIDGE_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface UpstreamIdentity {
  readonly protocolVersion: string;
  readonly capabilities: Params;
  readonly serverInfo: Params | undefined;
  readonly instructions: string | undefined;
}

/** A request the upstream sent mid-call, waiting for the client's answer. */
export interface PendingInput {
  readonly upstreamId: RequestId;
  readonly method: string;
  readonly params: Params | undefined;
}

/** Which notifications one `subscriptions/listen` stream receives. */
export interface ListenFilter {
  readonly tools: boolean;
  readonly prompts: boolean;
  readonly resources: boolean;
  readonly uris: ReadonlySet<string>;
}

export function initializeRequest(): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: BRIDGE_CAPABILITIES,
      clientInfo: { name: 'portcullis-bridge', version: VERSION },
    },
  };
}

export function identityOf(result: Params): UpstreamIdentity {
  return {
    protocolVersion: String(result.protocolVersion),
    capabilities: (result.capabilities as Params | undefined) ?? {},
    serverInfo: result.serverInfo as Params | undefined,
    instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
  };
}

/** `server/discover`'s result: what the gateway and the upstream together support. */
export function discoveryOf(identity: UpstreamIdentity, cache: CachePolicy): Params {
  return completeResult(
    'server/discover',
    {
      supportedVersions: [...MODERN_REVISIONS],
      capabilities: modernCapabilities(identity.capabilities),
      ...(identity.instructions ? { instructions: identity.instructions } : {}),
      ...(identity.serverInfo ? { _meta: { [META.serverInfo]: identity.serverInfo } } : {}),
    },
    cache,
  );
}

/** The params a 2025 upstream gets: the 2026 envelope keys and MRTR fields removed. */
export function upstreamParams(params: Params | undefined): Params | undefined {
  if (!params) return params;
  const { inputResponses: _responses, requestState: _state, ...rest } = params;
  const meta = rest._meta as Params | undefined;
  if (!meta) return rest;
  const kept = Object.fromEntries(
    Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')),
  );
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : omitMeta(rest);
}

function omitMeta(params: Params): Params {
  const { _meta: _dropped, ...rest } = params;
  return rest;
}

/** The upstream's answer as the 2026 client gets it: stamped complete, or with a code 2026 allows. */
export function clientAnswer(
  method: string,
  response: JsonRpcResponse,
  clientId: RequestId,
  cache: CachePolicy,
): JsonRpcResponse {
  return 'result' in response
    ? { jsonrpc: '2.0', id: clientId, result: completeResult(method, response.result, cache) }
    : { jsonrpc: '2.0', id: clientId, error: modernError(response.error) };
}

/** The capability a server request needs that the client did not declare, or undefined. */
export function missingCapability(
  message: JsonRpcRequest,
  capabilities: Record<string, unknown>,
): string | undefined {
  switch (message.method) {
    case 'elicitation/create': {
      const elicitation = capabilities.elicitation as Record<string, unknown> | undefined;
      if (!elicitation) return 'elicitation';
      if (message.params?.mode === 'url') return elicitation.url ? undefined : 'elicitation.url';
      const declaresModes = 'form' in elicitation || 'url' in elicitation;
      return declaresModes && !elicitation.form ? 'elicitation.form' : undefined;
    }
    case 'sampling/createMessage':
      return capabilities.sampling ? undefined : 'sampling';
    case 'roots/list':
      return capabilities.roots ? undefined : 'roots';
    default:
      return message.method;
  }
}

/**
 * The answer the gateway gives a server request itself, or undefined when the client must be asked:
 * ping is answered here; outside any client call (`capabilities` undefined) there is no one to ask;
 * a request needing a capability the client did not declare is refused.
 */
export function answerHere(
  message: JsonRpcRequest,
  capabilities: Record<string, unknown> | undefined,
): JsonRpcResponse | undefined {
  if (message.method === 'ping') return { jsonrpc: '2.0', id: message.id, result: {} };
  // Outside any call (e.g. roots/list right after initialize) there is no one to ask.
  if (!capabilities) return answerOutsideACall(message);
  const missing = missingCapability(message, capabilities);
  return missing
    ? {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: `the client did not declare the ${missing} capability` },
      }
    : undefined;
}

/** The answer to a server request that came outside any client call: there is no one to ask. */
export function answerOutsideACall(message: JsonRpcRequest): JsonRpcResponse {
  return message.method === 'roots/list'
    ? { jsonrpc: '2.0', id: message.id, result: { roots: [] } }
    : {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: `${message.method} cannot be relayed outside a client request` },
      };
}

/** The input_required round's `inputRequests`, keyed as the client must answer them. */
export function inputRequestsOf(inputs: ReadonlyMap<string, PendingInput>): Params {
  return Object.fromEntries(
    [...inputs].map(([key, input]) => [
      key,
      { method: input.method, ...(input.params ? { params: omitMeta(input.params) } : {}) },
    ]),
  );
}

/** The answers the upstream gets for its requests from the client's `inputResponses`. */
export function upstreamAnswers(
  inputs: ReadonlyMap<string, PendingInput>,
  inputResponses: unknown,
): JsonRpcResponse[] {
  const answers = (inputResponses ?? {}) as Params;
  return [...inputs].map(([key, input]) => {
    const answer = answers[key];
    return answer !== null && typeof answer === 'object' && !Array.isArray(answer)
      ? { jsonrpc: '2.0', id: input.upstreamId, result: answer as Params }
      : {
          jsonrpc: '2.0',
          id: input.upstreamId,
          error: { code: -32600, message: `the client did not answer ${input.method}` },
        };
  });
}

/** What a listen request can be given: only what the 2025 upstream declares it can send. */
export function listenFilter(wanted: Params, capabilities: Record<string, Params | undefined>): ListenFilter {
  const honours = (kind: 'tools' | 'prompts' | 'resources', flag: string) =>
    wanted[flag] === true && capabilities[kind]?.listChanged === true;
  const uris =
    Array.isArray(wanted.resourceSubscriptions) && capabilities.resources?.subscribe === true
      ? wanted.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
      : [];
  return {
    tools: honours('tools', 'toolsListChanged'),
    prompts: honours('prompts', 'promptsListChanged'),
    resources: honours('resources', 'resourcesListChanged'),
    uris: new Set(uris),
  };
}

/** The first message of a listen stream: what it will receive. */
export function acknowledgement(filter: ListenFilter, listenId: RequestId): JsonRpcNotification {
  return {
    jsonrpc: '2.0',
    method: 'notifications/subscriptions/acknowledged',
    params: {
      notifications: {
        ...(filter.tools ? { toolsListChanged: true } : {}),
        ...(filter.prompts ? { promptsListChanged: true } : {}),
        ...(filter.resources ? { resourcesListChanged: true } : {}),
        ...(filter.uris.size > 0 ? { resourceSubscriptions: [...filter.uris] } : {}),
      },
      _meta: { [META.subscriptionId]: listenId },
    },
  };
}

/** Whether a 2025 notification belongs on a listen stream with `filter`. */
export function wantedBy(message: JsonRpcNotification, filter: ListenFilter): boolean {
  switch (message.method) {
    case 'notifications/tools/list_changed':
      return filter.tools;
    case 'notifications/prompts/list_changed':
      return filter.prompts;
    case 'notifications/resources/list_changed':
      return filter.resources;
    case 'notifications/resources/updated':
      return filter.uris.has(String(message.params?.uri));
    default:
      return false;
  }
}

/** The notification tagged with the listen request it is delivered under. */
export function taggedFor(message: JsonRpcNotification, listenId: RequestId): JsonRpcNotification {
  return {
    ...message,
    params: {
      ...message.params,
      _meta: { ...(message.params?._meta as Params | undefined), [META.subscriptionId]: listenId },
    },
  };
}

/** A log message at `level` reaches a request that asked for `minimum` and above. */
export function levelAtLeast(level: string, minimum: string): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(minimum);
}
