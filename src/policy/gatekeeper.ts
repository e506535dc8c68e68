/**
 * The policy applied to traffic with one upstream: which requests may pass, what the lists they get
 * back may show, and which resources embedded in an answer may be shown — all through the same Policy
 * decision, for the principal of each request (a token may carry more scopes after a step-up, on the
 * same session).
 */
import { auditTarget, type VerdictRecorder } from '../audit/request-audit.js';
import { GatewayError } from '../core/errors.js';
import type { JsonRpcRequest, Params } from '../core/jsonrpc.js';
import { methodFacts } from '../core/methods.js';
import type { Principal } from '../core/principal.js';
import type { ApprovalHold, HeldCall } from './approval-hold.js';
import type { Approvals } from './approvals.js';
import type { ToolCatalog } from './catalog.js';
import { PIN_KINDS } from './pin-diff.js';
import type { ToolPins } from './pins.js';
import type { Decision, Policy } from './policy.js';
import { type ResourceDecider, screenResult } from './result-filter.js';
import type { ScopeSet } from './scopes.js';

/** JSON-RPC code for a denied request (implementation-defined range; 2026 clients get -32603). */
export const FORBIDDEN = -32003;

/** Principals that can obtain more scopes by authorizing again (MCP step-up authorization). */
const STEP_UP_KINDS = new Set(['oauth', 'jwt']);

export interface GatekeeperOptions {
  readonly policy: Policy;
  readonly upstream: string;
  readonly catalog: ToolCatalog;
  /** Tool pinning; without it, definitions are not checked. */
  readonly pins?: ToolPins;
  /** Human approval (policy.approval); without it, no call is held. */
  readonly approvals?: { readonly service: Approvals; readonly hold: ApprovalHold };
}

export class Gatekeeper {
  readonly catalog: ToolCatalog;

  constructor(private readonly options: GatekeeperOptions) {
    this.catalog = options.catalog;
  }

  /** The same upstream, catalog, pins and approvals under another policy (a virtual server's). */
  under(policy: Policy): Gatekeeper {
    return policy === this.options.policy ? this : new Gatekeeper({ ...this.options, policy });
  }

  /**
   * The refusal for `request`, or undefined when the policy lets it pass (or does not govern it).
   * Each decision on a governed request is reported to `recorder` (the request's audit trail).
   */
  async refusal(
    request: JsonRpcRequest,
    principal: Principal,
    resourceMetadata: string,
    recorder?: VerdictRecorder,
  ): Promise<GatewayError | undefined> {
    const decision = await this.decide(request, this.options.policy.scopesOf(principal));
    const target = recorder ? auditTarget(request) : undefined;
    const { upstream } = this.options;
    if (decision && !decision.allowed) {
      const error = this.denied(request, decision, principal, resourceMetadata);
      if (target)
        recorder?.decided(request, {
          upstream,
          target,
          outcome: 'denied',
          rule: decision.rule,
          code: error.code,
          ...(decision.missing.length > 0 ? { missingScopes: decision.missing } : {}),
        });
      return error;
    }
    const later =
      request.method === 'tools/call'
        ? ((await this.pinRefusal(request)) ?? (await this.checkArguments(request)))
        : request.method === 'prompts/get'
          ? await this.pinRefusal(request)
          : undefined;
    if (target && decision) {
      const check = later?.code === 'tool_not_approved' ? 'pinning' : 'guard';
      recorder?.decided(
        request,
        later
          ? { upstream, target, outcome: 'denied', rule: `${check}: ${later.message}`, code: later.code }
          : { upstream, target, outcome: 'allowed', rule: decision.rule },
      );
    }
    return later;
  }

  /**
   * The approval rule that holds this tools/call, with what an approval for it is bound to; undefined
   * when no rule holds it. The tool's class is the policy's, from this upstream's catalog.
   */
  async held(request: JsonRpcRequest, principal: Principal): Promise<HeldCall | undefined> {
    const { approvals, policy, upstream } = this.options;
    if (!approvals || approvals.service.rules.size === 0 || request.method !== 'tools/call') return undefined;
    const name = String(request.params?.name);
    const tool = await this.catalog.tool(name);
    if (!tool) return undefined;
    const args = request.params?.arguments as Params | undefined;
    const match = approvals.service.rules.match(upstream, name, policy.toolClass(upstream, tool), args);
    return match
      ? { match, binding: approvals.service.bindingOf(principal, upstream, name, args) }
      : undefined;
  }

  get approvalHold(): ApprovalHold | undefined {
    return this.options.approvals?.hold;
  }

  /** A list result without what pinning hides (`policy.pinning: enforce`): tools, prompts, templates. */
  async screenPinned(method: string, result: Params): Promise<Params> {
    const { pins, upstream } = this.options;
    const kind = PIN_KINDS[method];
    const { list } = methodFacts(method);
    if (!pins || !kind || !list || !Array.isArray(result[list.field])) return result;
    const items = result[list.field] as unknown[];
    return { ...result, [list.field]: await pins.screen(upstream, kind, items, list.key) };
  }

  /** The refusal of a call to a tool or prompt whose definition is not the pinned one, in enforce mode. */
  private async pinRefusal(request: JsonRpcRequest): Promise<GatewayError | undefined> {
    const { pins, upstream } = this.options;
    if (!pins) return undefined;
    const name = String(request.params?.name);
    if (request.method === 'prompts/get') return pins.promptRefusal(upstream, name);
    return pins.toolRefusal(upstream, (await this.catalog.tool(name))?.definition);
  }

  /** The tool's argument guards, run once the policy allowed the call. */
  private async checkArguments(request: JsonRpcRequest): Promise<GatewayError | undefined> {
    const name = String(request.params?.name);
    const guards = this.options.policy.guardsFor(this.options.upstream, name);
    try {
      await guards.check(
        request.params?.arguments as Params | undefined,
        (await this.catalog.tool(name))?.inputSchema,
      );
      return undefined;
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
  }

  /** Whether the principal may read (and so subscribe to) the resource at `uri`. */
  mayRead(uri: string, principal: Principal): boolean {
    return this.resourceDecider(principal)(uri).allowed;
  }

  /** The per-resource decision for `principal`, for screening what an answer or server request carries. */
  resourceDecider(principal: Principal): ResourceDecider {
    const { policy, upstream } = this.options;
    const scopes = policy.scopesOf(principal);
    return (uri) => policy.decideResource(scopes, upstream, uri);
  }

  /**
   * A result as the principal may see it: a list with only what they may use (pagination cursors kept
   * as they are); any other result with the resources they may not read withheld (result-filter.ts).
   */
  filter(method: string, result: Params, principal: Principal): Params {
    const { list } = methodFacts(method);
    if (!list) return screenResult(method, result, this.resourceDecider(principal)).value;
    if (!Array.isArray(result[list.field])) return result;
    if (method === 'tools/list') this.catalog.observe(result);
    const { policy, upstream } = this.options;
    const scopes = policy.scopesOf(principal);
    const items = (result[list.field] as unknown[]).filter((item) => {
      if (item === null || typeof item !== 'object') return false;
      const value = (item as Params)[list.key];
      if (typeof value !== 'string') return false;
      switch (method) {
        case 'tools/list': {
          const entry = {
            name: value,
            inputSchema: (item as Params).inputSchema,
            annotations: ((item as Params).annotations as Params | undefined) ?? {},
          };
          return policy.decideTool(scopes, upstream, value, entry).allowed;
        }
        case 'prompts/list':
          return policy.decidePrompt(scopes, upstream, value).allowed;
        default:
          return policy.decideResource(scopes, upstream, value).allowed;
      }
    });
    return { ...result, [list.field]: items };
  }

  private async decide(request: JsonRpcRequest, scopes: ScopeSet): Promise<Decision | undefined> {
    const { policy, upstream } = this.options;
    const params = request.params ?? {};
    switch (request.method) {
      case 'tools/call': {
        const name = String(params.name);
        return policy.decideTool(scopes, upstream, name, await this.catalog.tool(name));
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return policy.decideResource(scopes, upstream, String(params.uri));
      case 'prompts/get':
        return policy.decidePrompt(scopes, upstream, String(params.name));
      case 'completion/complete': {
        const ref = (params.ref ?? {}) as Params;
        if (ref.type === 'ref/prompt') return policy.decidePrompt(scopes, upstream, String(ref.name));
        return policy.decideResource(scopes, upstream, String(ref.uri));
      }
      default:
        return undefined;
    }
  }

  private denied(
    request: JsonRpcRequest,
    decision: Decision,
    principal: Principal,
    resourceMetadata: string,
  ): GatewayError {
    const { upstream } = this.options;
    const what = describe(request);
    if (decision.rule === 'readOnly') {
      return new GatewayError(
        'forbidden',
        `${what} is refused: it is not read-only and this gateway serves '${upstream}' read-only`,
        { rpcCode: FORBIDDEN },
      );
    }
    if (decision.rule === 'unknown tool') {
      // As the specification has servers answer an unknown tool: a protocol error, Invalid params.
      return new GatewayError(
        'unknown_tool',
        `${what} is refused: upstream '${upstream}' does not offer that tool`,
      );
    }
    const needs = decision.missing.map((alternatives) => alternatives.join(' or ')).join(', and ');
    const headers: Record<string, string> = canStepUp(principal)
      ? {
          'www-authenticate': `Bearer error="insufficient_scope", scope="${decision.required.join(' ')}", resource_metadata="${resourceMetadata}"`,
        }
      : {};
    return new GatewayError(
      'insufficient_scope',
      `${what} needs the scope ${needs}, which this caller does not have`,
      {
        rpcCode: FORBIDDEN,
        headers,
        data: { requiredScopes: decision.required, missingScopes: decision.missing },
      },
    );
  }
}

/** Principals for whom a denial is HTTP 403 with an insufficient_scope challenge (MCP step-up). */
export function canStepUp(principal: Principal): boolean {
  return STEP_UP_KINDS.has(principal.kind);
}

function describe(request: JsonRpcRequest): string {
  const params = request.params ?? {};
  switch (request.method) {
    case 'tools/call':
      return `tool '${String(params.name)}'`;
    case 'prompts/get':
      return `prompt '${String(params.name)}'`;
    case 'completion/complete':
      return 'this completion';
    default:
      return `resource '${String(params.uri)}'`;
  }
}
