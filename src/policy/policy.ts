/**
 * The one decision for lists and calls: whether a principal may use a tool, resource or prompt.
 * The same function filters tools/list, resources/list, resources/templates/list and prompts/list
 * and decides tools/call, resources/read, resources/subscribe and prompts/get, so a tool that is
 * hidden can never be called and a tool that is shown can.
 *
 * Requirements are a list of scope alternatives, all of which must be met:
 * - a tool's class: read → tools:read | <upstream>:read; write → tools:write | <upstream>:write;
 *   destructive → the write requirement and tools:destructive | <upstream>:destructive;
 * - resources → resources:read | <upstream>:read; prompts → prompts:read | <upstream>:read;
 * - every matching rule adds each scope it requires.
 * Read-only mode denies every tool that is not read; a tool the upstream does not list is denied.
 */

import {
  DEFAULT_ROLES,
  DEFAULT_TOOL_POLICY,
  type PolicyConfig,
  type ToolPolicy,
} from '../config/policy-schema.js';
import type { Principal } from '../core/principal.js';
import type { ToolEntry } from './catalog.js';
import { globToRegExp, matchesAny } from './glob.js';
import { ArgumentGuards } from './guards.js';
import { effectiveScopes, type ScopeSet } from './scopes.js';
import { SCOPES, upstreamScope } from './vocabulary.js';

export type ToolClass = 'read' | 'write' | 'destructive';
export type ItemKind = 'tool' | 'resource' | 'prompt';

export interface Decision {
  readonly allowed: boolean;
  /** Each unmet requirement, as the scopes any one of which would meet it. */
  readonly missing: readonly (readonly string[])[];
  /** The scopes the operation needs (one per requirement), for a step-up challenge. */
  readonly required: readonly string[];
  /** What decided, for explain and audit: "readOnly", "unknown tool", "class write + rule 2". */
  readonly rule: string;
}

interface CompiledRule {
  readonly index: number;
  readonly tools: readonly RegExp[];
  readonly resources: readonly RegExp[];
  readonly prompts: readonly RegExp[];
  readonly upstreams: ReadonlySet<string> | undefined;
  readonly require: readonly string[];
}

export class Policy {
  readonly readOnly: boolean;
  readonly roles: Readonly<Record<string, readonly string[]>>;
  private readonly rules: readonly CompiledRule[];
  private readonly tools: Readonly<Record<string, ToolPolicy>>;
  private readonly guards = new Map<string, ArgumentGuards>();

  constructor(config: PolicyConfig) {
    this.readOnly = config.readOnly;
    this.roles = config.roles ?? DEFAULT_ROLES;
    this.tools = config.tools;
    this.rules = config.rules.map((rule, index) => ({
      index: index + 1,
      tools: (rule.tools ?? []).map(globToRegExp),
      resources: (rule.resources ?? []).map(globToRegExp),
      prompts: (rule.prompts ?? []).map(globToRegExp),
      upstreams: rule.upstreams ? new Set(rule.upstreams) : undefined,
      require: rule.require,
    }));
  }

  scopesOf(principal: Principal): ScopeSet {
    return effectiveScopes(principal.scopes, principal.roles ?? [], this.roles);
  }

  toolPolicy(upstream: string, tool: string): ToolPolicy | undefined {
    const key = `${upstream}.${tool}`;
    return Object.hasOwn(this.tools, key) ? this.tools[key] : undefined;
  }

  /**
   * The argument guards of a tool (built once: roots are resolved then): those configured for it, or
   * for a tool `policy.tools` does not name, the default — its arguments must match its inputSchema.
   */
  guardsFor(upstream: string, tool: string): ArgumentGuards {
    const key = `${upstream}.${tool}`;
    let guards = this.guards.get(key);
    if (!guards) {
      guards = new ArgumentGuards(tool, this.toolPolicy(upstream, tool) ?? DEFAULT_TOOL_POLICY);
      this.guards.set(key, guards);
    }
    return guards;
  }

  /** Read only when the upstream (or the config) says readOnlyHint; destructive unless told otherwise. */
  toolClass(upstream: string, tool: ToolEntry): ToolClass {
    const override = this.toolPolicy(upstream, tool.name);
    const readOnly = override?.readOnly ?? tool.annotations.readOnlyHint === true;
    if (readOnly) return 'read';
    // MCP: destructiveHint defaults to true for a tool that is not read-only.
    const destructive = override?.destructive ?? tool.annotations.destructiveHint !== false;
    return destructive ? 'destructive' : 'write';
  }

  decideTool(scopes: ScopeSet, upstream: string, name: string, tool: ToolEntry | undefined): Decision {
    if (!tool) return deny('unknown tool');
    const cls = this.toolClass(upstream, tool);
    if (this.readOnly && cls !== 'read') return deny('readOnly');
    const level = cls === 'read' ? 'read' : 'write';
    const groups = [
      [level === 'read' ? SCOPES.toolsRead : SCOPES.toolsWrite, upstreamScope(upstream, level)],
    ];
    if (cls === 'destructive') groups.push([SCOPES.toolsDestructive, upstreamScope(upstream, 'destructive')]);
    return this.decide(scopes, upstream, 'tool', `${upstream}.${name}`, groups, `class ${cls}`);
  }

  /**
   * Decides on every spelling the upstream may resolve the URI to (as sent, its WHATWG form with
   * the scheme lower-cased and dot segments removed, and that form percent-decoded): a rule for
   * `demo://x/secret/*` must also hold for `DEMO://x/a/../secret/%73`. Any denial wins.
   */
  decideResource(scopes: ScopeSet, upstream: string, uri: string): Decision {
    const decisions = uriForms(uri).map((form) =>
      this.decide(
        scopes,
        upstream,
        'resource',
        form,
        [[SCOPES.resourcesRead, upstreamScope(upstream, 'read')]],
        'resources',
      ),
    );
    return decisions.find((d) => !d.allowed) ?? (decisions[0] as Decision);
  }

  decidePrompt(scopes: ScopeSet, upstream: string, name: string): Decision {
    return this.decide(
      scopes,
      upstream,
      'prompt',
      `${upstream}.${name}`,
      [[SCOPES.promptsRead, upstreamScope(upstream, 'read')]],
      'prompts',
    );
  }

  /** The numbers of rules whose patterns match nothing in `names` (tool/prompt `<u>.<n>`, resource URIs). */
  unusedRules(
    upstream: string,
    names: { tools: string[]; resources: string[]; prompts: string[] },
  ): number[] {
    return this.rules
      .filter((rule) => !rule.upstreams || rule.upstreams.has(upstream))
      .filter(
        (rule) =>
          !names.tools.some((n) => matchesAny(rule.tools, `${upstream}.${n}`)) &&
          !names.resources.some((n) => matchesAny(rule.resources, n)) &&
          !names.prompts.some((n) => matchesAny(rule.prompts, `${upstream}.${n}`)),
      )
      .map((rule) => rule.index);
  }

  private decide(
    scopes: ScopeSet,
    upstream: string,
    kind: ItemKind,
    subject: string,
    groups: string[][],
    base: string,
  ): Decision {
    const matched = this.rules.filter((rule) => {
      if (rule.upstreams && !rule.upstreams.has(upstream)) return false;
      const patterns = kind === 'tool' ? rule.tools : kind === 'resource' ? rule.resources : rule.prompts;
      return matchesAny(patterns, subject);
    });
    const all = [...groups, ...matched.flatMap((rule) => rule.require.map((scope) => [scope]))];
    const missing = all.filter((alternatives) => !alternatives.some((s) => scopes.holds(s)));
    const rule = [base, ...matched.map((r) => `rule ${r.index}`)].join(' + ');
    return { allowed: missing.length === 0, missing, required: all.map((g) => g[0] as string), rule };
  }
}

function uriForms(uri: string): string[] {
  const forms = new Set([uri]);
  try {
    const href = new URL(uri).href;
    forms.add(href);
    forms.add(decodeURIComponent(href));
  } catch {
    // Not a URL (or undecodable): the string as sent is the only form.
  }
  return [...forms];
}

function deny(rule: string): Decision {
  return { allowed: false, missing: [], required: [], rule };
}
