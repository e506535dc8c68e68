/** What `policy explain` prints: every tool, resource and prompt of an upstream, allowed or denied, and why. */
import type { Params } from '../core/jsonrpc.js';
import type { UpstreamOffer } from './inspect.js';
import type { Decision, Policy } from './policy.js';
import type { ScopeSet } from './scopes.js';

export interface ExplainedItem {
  readonly kind: 'tool' | 'resource' | 'template' | 'prompt';
  readonly name: string;
  readonly decision: Decision;
}

export function explainUpstream(
  policy: Policy,
  scopes: ScopeSet,
  upstream: string,
  offer: UpstreamOffer,
): ExplainedItem[] {
  const tool = (t: Params) => ({
    name: String(t.name),
    inputSchema: t.inputSchema,
    annotations: (t.annotations as Params | undefined) ?? {},
  });
  return [
    ...offer.tools.map((t) => ({
      kind: 'tool' as const,
      name: String(t.name),
      decision: policy.decideTool(scopes, upstream, String(t.name), tool(t)),
    })),
    ...offer.resources.map((r) => ({
      kind: 'resource' as const,
      name: String(r.uri),
      decision: policy.decideResource(scopes, upstream, String(r.uri)),
    })),
    ...offer.resourceTemplates.map((r) => ({
      kind: 'template' as const,
      name: String(r.uriTemplate),
      decision: policy.decideResource(scopes, upstream, String(r.uriTemplate)),
    })),
    ...offer.prompts.map((p) => ({
      kind: 'prompt' as const,
      name: String(p.name),
      decision: policy.decidePrompt(scopes, upstream, String(p.name)),
    })),
  ];
}

export function formatExplained(upstream: string, items: readonly ExplainedItem[]): string {
  const width = Math.min(48, Math.max(4, ...items.map((i) => i.name.length)));
  const lines = items.map(({ kind, name, decision }) => {
    const why = decision.allowed
      ? decision.rule
      : decision.missing.length > 0
        ? `${decision.rule}: needs ${decision.missing.map((alternatives) => alternatives.join(' or ')).join(', and ')}`
        : decision.rule;
    return `  ${kind.padEnd(8)} ${name.padEnd(width)}  ${(decision.allowed ? 'allowed' : 'denied').padEnd(7)}  ${why}`;
  });
  return [`${upstream}:`, ...lines].join('\n');
}
