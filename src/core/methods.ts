/**
 * One table of facts about MCP methods, read by the policy (what a request targets), the audit
 * trail (what it names), the 2026 header checks (which field Mcp-Name mirrors), result filtering
 * (which list a result carries), the 2026 bridge (which results are cacheable, which may ask for
 * input) and the stateless transport (which 2025 methods 2026-07-28 removed).
 */
import type { Params } from './jsonrpc.js';

export type TargetKind = 'tool' | 'prompt' | 'resource' | 'completion';

export interface MethodFacts {
  /** What a request of this method targets, for the policy and the audit trail. */
  readonly target?: TargetKind;
  /** The params field naming the target (Mcp-Name mirrors it in 2026-07-28). */
  readonly nameField?: 'name' | 'uri';
  /** For a list method: the result field holding the items, and the item field naming each. */
  readonly list?: { readonly field: string; readonly key: 'name' | 'uri' | 'uriTemplate' };
  /** 2026-07-28 CacheableResult: a client or intermediary may cache the result. */
  readonly cacheable?: true;
  /** 2026-07-28: the result may be `input_required` (multi-round-trip requests). */
  readonly multiRoundTrip?: true;
  /** A 2025 method that 2026-07-28 removed (sessions, handshake, per-session settings). */
  readonly sessionOnly?: true;
}

export const METHODS: Readonly<Record<string, MethodFacts>> = {
  initialize: { sessionOnly: true },
  ping: { sessionOnly: true },
  'logging/setLevel': { sessionOnly: true },
  'server/discover': { cacheable: true },
  'tools/list': { list: { field: 'tools', key: 'name' }, cacheable: true },
  'tools/call': { target: 'tool', nameField: 'name', multiRoundTrip: true },
  'prompts/list': { list: { field: 'prompts', key: 'name' }, cacheable: true },
  'prompts/get': { target: 'prompt', nameField: 'name', multiRoundTrip: true },
  'resources/list': { list: { field: 'resources', key: 'uri' }, cacheable: true },
  'resources/templates/list': { list: { field: 'resourceTemplates', key: 'uriTemplate' }, cacheable: true },
  'resources/read': { target: 'resource', nameField: 'uri', cacheable: true, multiRoundTrip: true },
  'resources/subscribe': { target: 'resource', nameField: 'uri', sessionOnly: true },
  'resources/unsubscribe': { target: 'resource', nameField: 'uri', sessionOnly: true },
  'completion/complete': { target: 'completion' },
};

export function methodFacts(method: string): MethodFacts {
  return Object.hasOwn(METHODS, method) ? (METHODS[method] as MethodFacts) : {};
}

/** What a request targets and the name it gives it, when its method targets anything. */
export function requestTarget(
  method: string,
  params: Params | undefined,
): { readonly kind: TargetKind; readonly name: string } | undefined {
  const facts = methodFacts(method);
  if (!facts.target) return undefined;
  const p = params ?? {};
  if (facts.target === 'completion') {
    // completion/complete names a prompt or a resource template through its ref.
    const ref = (p.ref ?? {}) as Params;
    return { kind: 'completion', name: String(ref.type === 'ref/prompt' ? ref.name : ref.uri) };
  }
  return { kind: facts.target, name: String(p[facts.nameField as string]) };
}
