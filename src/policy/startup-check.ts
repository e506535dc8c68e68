/**
 * The policy check at start: rules that require a scope nobody can hold (no role, Basic user,
 * default scope or stored API key), and rules whose patterns match nothing the upstreams offer
 * (listed in the background, so start-up is not delayed). Both are reported as warnings.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { type OfferOf, offeredNames } from './inspect.js';
import type { Policy } from './policy.js';
import { ScopeSet } from './scopes.js';

/** A scope a rule requires that no role, Basic user, default scope or API key can hold. */
export interface UnholdableScope {
  readonly rule: number;
  readonly scope: string;
  readonly message: string;
}

/** What stored API keys grant: their scopes and their roles' scopes. */
export function keyGrants(
  keys: readonly { readonly scopes: readonly string[]; readonly roles: readonly string[] }[],
  policy: Policy,
): string[] {
  return keys.flatMap((k) => [...k.scopes, ...k.roles.flatMap((r) => policy.roles[r] ?? [])]);
}

export function unholdableRuleScopes(
  config: Config,
  policy: Policy,
  grantedToKeys: readonly string[],
): UnholdableScope[] {
  const users = Object.values(config.auth.basic?.users ?? {});
  // A bare `*` (the admin role) holds everything, which would hide a misspelt scope: only scopes
  // named somewhere, or a prefix wildcard such as files:*, count.
  const grants = new ScopeSet(
    [
      ...Object.values(policy.roles).flat(),
      ...config.auth.defaultScopes,
      ...users.flatMap((u) => u.scopes ?? []),
      ...grantedToKeys,
    ].filter((scope) => scope !== '*'),
  );
  return config.policy.rules.flatMap((rule, i) =>
    rule.require
      .filter((scope) => !grants.holds(scope))
      .map((scope) => ({
        rule: i,
        scope,
        message: `policy.rules[${i}] requires ${scope}, which no role, user, default scope or API key holds yet`,
      })),
  );
}

export function checkRuleScopes(
  config: Config,
  policy: Policy,
  grantedToKeys: readonly string[],
  logger: Logger,
): void {
  for (const { rule, scope, message } of unholdableRuleScopes(config, policy, grantedToKeys))
    logger.warn({ rule, scope }, message);
}

export function checkRulePatterns(config: Config, policy: Policy, offerOf: OfferOf, logger: Logger): void {
  if (config.policy.rules.length === 0) return;
  const names = Object.keys(config.upstreams);
  const unused = new Map<number, number>();
  void Promise.all(
    names.map(async (name) => {
      const offer = await offerOf(name);
      for (const index of policy.unusedRules(name, offeredNames(offer)))
        unused.set(index, (unused.get(index) ?? 0) + 1);
    }),
  ).then(
    () => {
      for (const [index, count] of unused) {
        if (count === names.length)
          logger.warn({ rule: index - 1 }, `policy.rules[${index - 1}] matches nothing any upstream offers`);
      }
    },
    (err: Error) =>
      logger.warn({ err: err.message }, 'could not list the upstreams to check the policy rules'),
  );
}
