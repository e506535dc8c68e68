/** The routes: the MCP pipeline, the admin API, the OAuth endpoints, metadata, health and metrics. */

import { protectedResourceMetadata } from '../auth/protected-resource.js';
import type { LoadedConfig } from '../config/load.js';
import { ApprovalPages } from '../http/approval-pages.js';
import { frontDoor } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import { metricsHandler } from '../observability/metrics.js';
import { Readiness } from '../observability/readiness.js';
import { adminPipeline } from '../pipeline/admin-stages.js';
import { runCall } from '../pipeline/call-stages.js';
import { mcpPipeline } from '../pipeline/mcp-stages.js';
import type { Policy } from '../policy/policy.js';
import { forwardToOwner } from '../relay/modern/forward.js';
import { modernRelay } from '../relay/modern/relay.js';
import type { GatewayApprovals } from './approvals.js';
import type { GatewayAuth } from './auth.js';
import type { Channels } from './channels.js';
import type { Drain } from './drain.js';
import type { Services } from './services.js';

export function routes(
  loaded: LoadedConfig,
  parts: {
    readonly services: Services;
    readonly auth: GatewayAuth;
    readonly channels: Channels;
    readonly policy: Policy;
    readonly publicUrl: URL;
    readonly scopes: readonly string[];
    readonly drain: Drain;
    readonly approvals?: GatewayApprovals | undefined;
  },
  logger: Logger,
): ReturnType<typeof frontDoor> {
  const { config, baseDir } = loaded;
  const { services, channels, policy, publicUrl } = parts;
  const { authenticators, oauth } = parts.auth.auth;
  const { limits, limiters, keyStore, metrics, auditLog, tracing } = services;
  const audit = { log: auditLog, ...(metrics ? { metrics } : {}) };
  const readiness = new Readiness({
    upstreams: config.upstreams,
    baseDir,
    ...(keyStore ? { storeOk: () => keyStore.store.ping() } : {}),
    limits: () => limiters.state,
    sessions: () => channels.sessions.size,
    readOnly: config.policy.readOnly,
    aggregates: new Map([...channels.aggregates.values()].map((a) => [a.path, a.router.members])),
    pinning: () => channels.pins.summary(),
    warmPool: async (upstream) => {
      const pool = channels.warmPools.get(upstream);
      if (!pool) return undefined;
      const { size, ready, starting } = pool.stats();
      return { size, ready, starting, rssBytes: await pool.memory() };
    },
  });
  const { sessions } = channels;
  return frontDoor({
    upstreams: Object.keys(config.upstreams),
    aggregates: new Map(
      [...channels.aggregates.values()].map((a) => [a.path, { upstream: a.label, names: a.catalog }]),
    ),
    mcp: mcpPipeline({
      config,
      publicUrl,
      authenticators,
      limits,
      relay: {
        sessions,
        openSession: channels.openSession,
        modern: modernRelay({
          sessions,
          openBridge: channels.openBridge,
          runCall,
          stateOwner: channels.stateOwner,
          aggregates: new Map(
            [...channels.aggregates.values()].map((a) => [
              a.label,
              {
                router: a.router,
                catalog: a.catalog,
                policy: a.policy,
                deadlineMs: config.aggregate.deadline,
                cache: { maxTtlMs: config.limits.maxCacheTtl },
                logger,
              },
            ]),
          ),
          forward: (ctx, route, body) =>
            forwardToOwner(ctx, {
              route,
              body,
              timeoutMs:
                config.upstreams[ctx.endpoint.upstream]?.timeout ?? config.limits.inputRequestTimeout,
              logger,
            }),
        }),
      },
      audit,
      tracing,
    }),
    admin: adminPipeline({
      config,
      publicUrl,
      authenticators,
      limits,
      api: {
        sessions: {
          list: () => sessions.list(),
          closeByRef: (ref, actor) => sessions.closeByRef(ref, actor),
          warmPools: () => Promise.all([...channels.warmPools.values()].map((pool) => pool.report())),
        },
        holds: (principal, scope) => policy.scopesOf(principal).holds(scope),
      },
      audit,
    }),
    resourceMetadata: (path, upstream) =>
      protectedResourceMetadata(config.auth, publicUrl, path, upstream, parts.scopes),
    ...(oauth ? { oauth: { server: oauth, limitIp: limits.ip } } : {}),
    ...(parts.approvals
      ? {
          approvals: {
            pages: new ApprovalPages({
              approvals: parts.approvals.service,
              users: authenticators.basic,
              scopesOf: (principal) => policy.scopesOf(principal),
              secret: parts.approvals.secret,
              publicUrl,
              audit: auditLog,
              servesStylesheet: oauth !== undefined,
            }),
            limitIp: limits.ip,
          },
        }
      : {}),
    trustedProxies: config.listen.trustedProxies,
    allowedOrigins: config.listen.allowedOrigins,
    publicUrl,
    ...(metrics
      ? { metrics: metricsHandler(metrics, config.metrics.token ? { token: config.metrics.token } : {}) }
      : {}),
    readiness: () => readiness.report(),
    logger,
    track: (handling) => parts.drain.track(handling),
  });
}
