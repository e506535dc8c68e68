/**
 * Which calls `policy.approval.rules` hold for a person. A rule matches a tools/call when every
 * condition it names holds: its tool patterns (`<upstream>.<tool>`), its class (judged as the policy
 * judges it, from the upstream's catalog and `policy.tools` overrides: `destructive`, or `write` for
 * any tool that is not read-only), and its argument conditions (each named argument, dotted for
 * nested objects, equal to the value given — compared as canonical JSON). The first matching rule
 * holds the call; its number is what the audit and the page name.
 */
import { canonicalJson } from '../audit/chain.js';
import type { ApprovalRuleConfig } from '../config/policy-schema.js';
import type { Params } from '../core/jsonrpc.js';
import { globToRegExp, matchesAny } from './glob.js';
import type { ToolClass } from './policy.js';

export interface ApprovalRuleMatch {
  /** 1-based, as written in policy.approval.rules. */
  readonly index: number;
  /** Why the call is held, for the page and the caller: "rule 1: class destructive". */
  readonly reason: string;
}

interface CompiledRule {
  readonly index: number;
  readonly tools: readonly RegExp[] | undefined;
  readonly class: 'write' | 'destructive' | undefined;
  readonly when: readonly (readonly [path: readonly string[], expected: string])[];
  readonly reason: string;
}

export class ApprovalRules {
  private readonly rules: readonly CompiledRule[];

  constructor(rules: readonly ApprovalRuleConfig[]) {
    this.rules = rules.map((rule, i) => ({
      index: i + 1,
      tools: rule.tools?.map(globToRegExp),
      class: rule.class,
      when: Object.entries(rule.when ?? {}).map(([path, value]) => [path.split('.'), canonicalJson(value)]),
      reason: `rule ${i + 1}: ${describe(rule)}`,
    }));
  }

  get size(): number {
    return this.rules.length;
  }

  /** The first rule that holds a call of `<upstream>.<tool>` of class `cls` with `args`. */
  match(
    upstream: string,
    tool: string,
    cls: ToolClass,
    args: Params | undefined,
  ): ApprovalRuleMatch | undefined {
    const rule = this.rules.find(
      (r) =>
        (!r.tools || matchesAny(r.tools, `${upstream}.${tool}`)) &&
        (!r.class || (r.class === 'write' ? cls !== 'read' : cls === 'destructive')) &&
        r.when.every(([path, expected]) => {
          const value = valueAt(args, path);
          return value !== undefined && canonicalJson(value) === expected;
        }),
    );
    return rule ? { index: rule.index, reason: rule.reason } : undefined;
  }
}

function describe(rule: ApprovalRuleConfig): string {
  return [
    ...(rule.tools ? [`tools ${rule.tools.join(', ')}`] : []),
    ...(rule.class ? [`class ${rule.class}`] : []),
    ...Object.entries(rule.when ?? {}).map(([path, value]) => `${path} = ${JSON.stringify(value)}`),
  ].join(', ');
}

/** The argument at a dotted path; undefined when any step is missing (own properties only). */
function valueAt(args: Params | undefined, path: readonly string[]): unknown {
  let value: unknown = args;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key))
      return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
