/**
 * The policy check at start: rules that require a scope nobody can hold (no role, Basic user,
 * default scope or stored API key), and rules whose patterns match nothing the upstreams offer
 * (listed in the background, so start-up is not delayed). Both are reported as warnings.
 */
import type { Config, UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Connector } from '../upstream/connection.js';
import { inspectUpstream } from './inspect.js';
import type { Policy } from './policy.js';
import { ScopeSet } from './scopes.js';

export function checkRuleScopes(
  config: Config,
  policy: Policy,
  keyGrants: readonly string[],
  logger: Logger,
): void {
  const users = Object.values(config.auth.basic?.users ?? {});
  // A bare `*` (the admin role) holds everything, which would hide a misspelt scope: only scopes
  // named somewhere, or a prefix wildcard such as files:*, count.
  const grants = new ScopeSet(
    [
      ...Object.values(policy.roles).flat(),
      ...config.auth.defaultScopes,
      ...users.flatMap((u) => u.scopes ?? []),
      ...keyGrants,
    ].filter((scope) => scope !== '*'),
  );
  config.policy.rules.forEach((rule, i) => {
    for (const scope of rule.require) {
      if (!grants.holds(scope)) {
        logger.warn(
          { rule: i, scope },
          `policy.rules[${i}] requires ${scope}, which no role, user, default scope or API key holds yet`,
        );
      }
    }
  });
}

export function checkRulePatterns(
  config: Config,
  policy: Policy,
  connectors: ReadonlyMap<string, Connector>,
  logger: Logger,
): void {
  if (config.policy.rules.length === 0) return;
  const names = Object.keys(config.upstreams);
  const unused = new Map<number, number>();
  void Promise.all(
    names.map(async (name) => {
      const upstream = config.upstreams[name] as UpstreamConfig;
      const offer = await inspectUpstream(
        name,
        connectors.get(name) as Connector,
        upstream.protocol === '2026-07-28',
        logger,
      );
      const seen = {
        tools: offer.tools.map((t) => String(t.name)),
        resources: [
          ...offer.resources.map((r) => String(r.uri)),
          ...offer.resourceTemplates.map((r) => String(r.uriTemplate)),
        ],
        prompts: offer.prompts.map((p) => String(p.name)),
      };
      for (const index of policy.unusedRules(name, seen)) unused.set(index, (unused.get(index) ?? 0) + 1);
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
