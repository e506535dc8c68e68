/**
 * The aggregated endpoints: /mcp over every upstream when there are several, and each named
 * virtual server (`endpoints:`) over the upstreams its `include` names, with its policy — the base
 * policy, narrowed by the endpoint's overlay (more required scopes, read-only on).
 */
import { endpointPath } from '../config/endpoints-schema.js';
import type { Config } from '../config/schema.js';
import { AGGREGATE } from '../http/routes.js';
import type { Logger } from '../log/logger.js';
import { globToRegExp } from '../policy/glob.js';
import { Policy } from '../policy/policy.js';
import { AggregateCatalog } from '../relay/aggregate/catalog.js';
import { AggregateRouter } from '../relay/aggregate/router.js';

export interface AggregateEndpoint {
  /** What sessions, audit events and metrics call it: `*` for /mcp, `@<name>` for a virtual server. */
  readonly label: string;
  readonly path: string;
  readonly catalog: AggregateCatalog;
  readonly router: AggregateRouter;
  readonly policy: Policy;
}

export function aggregateEndpoints(
  config: Config,
  policy: Policy,
  logger: Logger,
): ReadonlyMap<string, AggregateEndpoint> {
  const upstreams = Object.keys(config.upstreams);
  const member = (upstream: string) => ({
    upstream,
    prefix: config.upstreams[upstream]?.prefix ?? upstream,
  });
  const endpoint = (
    label: string,
    path: string,
    catalog: AggregateCatalog,
    own: Policy,
  ): AggregateEndpoint => ({
    label,
    path,
    catalog,
    router: new AggregateRouter(catalog, config.aggregate.deadline),
    policy: own,
  });
  const all: AggregateEndpoint[] = [];
  if (upstreams.length > 1)
    all.push(endpoint(AGGREGATE, '/mcp', new AggregateCatalog(upstreams.map(member), logger), policy));
  for (const [name, virtual] of Object.entries(config.endpoints)) {
    const named = virtual.include.map((p) => globToRegExp(p.slice(0, p.indexOf('.'))));
    const members = upstreams.filter((u) => named.some((pattern) => pattern.test(u))).map(member);
    const overlay = virtual.policy;
    const narrowed =
      overlay.rules.length === 0 && !overlay.readOnly
        ? policy
        : new Policy({
            ...config.policy,
            readOnly: config.policy.readOnly || overlay.readOnly,
            rules: [...config.policy.rules, ...overlay.rules],
          });
    const catalog = new AggregateCatalog(members, logger.child({ endpoint: name }), virtual.include);
    all.push(endpoint(`@${name}`, endpointPath(name, virtual), catalog, narrowed));
  }
  return new Map(all.map((e) => [e.label, e]));
}
