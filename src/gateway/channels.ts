/**
 * The conversations with upstreams: a connector per upstream, and the one registry of sessions —
 * 2025 client sessions and the upstream sessions kept for 2026-07-28 clients — with their policy.
 */
import { randomBytes } from 'node:crypto';
import { auditPrincipal } from '../audit/events.js';
import type { LoadedConfig } from '../config/load.js';
import type { UpstreamConfig } from '../config/schema.js';
import { GatewayError, RPC } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import type { Logger } from '../log/logger.js';
import { deriveKey } from '../oauth/derive-key.js';
import { runCall } from '../pipeline/call-stages.js';
import { ToolCatalog } from '../policy/catalog.js';
import { Gatekeeper } from '../policy/gatekeeper.js';
import { ToolPins } from '../policy/pins.js';
import type { Policy } from '../policy/policy.js';
import { withDeadline } from '../relay/aggregate/deadline.js';
import type { ModernBackend } from '../relay/modern/backend.js';
import { gatewayEnvelope } from '../relay/modern/envelope.js';
import { LegacyBridge } from '../relay/modern/legacy-bridge.js';
import { ModernUpstreamAdapter } from '../relay/modern/modern-upstream-adapter.js';
import { ModernPassthrough } from '../relay/modern/passthrough.js';
import { RequestStateCodec, type RequestStateKeys, type StateOwner } from '../relay/modern/request-state.js';
import type { RelaySession } from '../relay/relay-session.js';
import { type Channel, Session } from '../relay/session.js';
import { SessionRegistry } from '../relay/session-registry.js';
import { UpstreamLink } from '../relay/upstream-link.js';
import { memoryPinStore } from '../store/memory-pins.js';
import type { Connector } from '../upstream/connection.js';
import { startHttp } from '../upstream/http.js';
import { startStdio } from '../upstream/stdio.js';
import { WarmPool } from '../upstream/warm-pool.js';
import { type AggregateEndpoint, aggregateEndpoints } from './aggregates.js';
import type { GatewayApprovals } from './approvals.js';
import type { Closer } from './closer.js';
import type { Services } from './services.js';

export interface Channels {
  readonly sessions: SessionRegistry<RelaySession>;
  /** The aggregated endpoints (/mcp over several upstreams, virtual servers), by label. */
  readonly aggregates: ReadonlyMap<string, AggregateEndpoint>;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** The warm pools of the stdio upstreams that have one (`warm: N`), by upstream name. */
  readonly warmPools: ReadonlyMap<string, WarmPool>;
  readonly pins: ToolPins;
  /** A 2025 client session with `upstream`, or with an aggregated endpoint's label, owned by `principal`. */
  openSession(upstream: string, principal: Principal): Promise<Session>;
  /** A 2026-07-28 client's backend: passthrough to a 2026 upstream, or a bridge to a 2025 one. */
  openBridge(upstream: string, principal: Principal): Promise<ModernBackend>;
  /** Which instance holds the call a requestState resumes (undefined: a 2026 upstream's own state). */
  stateOwner(upstream: string, state: string): Promise<StateOwner | undefined>;
}

export function connectorFor(
  name: string,
  config: UpstreamConfig,
  baseDir: string,
  logger: Logger,
): Connector {
  if (config.command !== undefined) {
    const stdio = { ...config, command: config.command };
    return () => startStdio({ name, config: stdio, baseDir, logger });
  }
  if (config.url !== undefined) {
    const http = { ...config, url: config.url };
    return () => startHttp({ name, config: http, logger });
  }
  throw new Error(`config: upstreams.${name} has neither command nor url`);
}

/**
 * Keys from the server secret, the same on every instance that shares it (a fleet); without a
 * store there is no shared secret, and one instance's own random keys do.
 */
function requestStateKeys(secret: Buffer | undefined): RequestStateKeys {
  if (!secret) return { signing: randomBytes(32), route: randomBytes(32) };
  return { signing: deriveKey(secret, 'request-state'), route: deriveKey(secret, 'request-state-route') };
}

export function openChannels(
  loaded: LoadedConfig,
  services: Services,
  policy: Policy,
  logger: Logger,
  closer: Closer,
  approvals?: GatewayApprovals,
): Channels {
  const { config, baseDir } = loaded;
  const upstreamOf = (name: string) => config.upstreams[name] as UpstreamConfig;
  const connectors = new Map(
    Object.keys(config.upstreams).map((name) => [
      name,
      connectorFor(name, upstreamOf(name), baseDir, logger),
    ]),
  );
  const sessions = closer.add(
    'sessions',
    new SessionRegistry<RelaySession>({
      ...config.limits.sessions,
      idleTimeoutMs: config.limits.sessionIdleTimeout,
      logger,
      onClose: (session, reason, actor) =>
        services.auditLog.record({
          type: 'session.closed',
          reason,
          session: session.ref,
          kind: session.kind,
          principal: session.principal,
          upstream: session.upstream,
          ageMs: session.ageMs,
          idleMs: session.idleMs,
          ...(actor ? { actor: auditPrincipal(actor) } : {}),
        }),
    }),
    (registry) => registry.closeAll(),
  );
  const warmPools = openWarmPools(config.upstreams, connectors, logger, closer);
  /** What a session's link starts its child with: a warm one when the pool has one, else a fresh start. */
  const sessionConnector = (upstream: string): Connector => {
    const cold = connectors.get(upstream) as Connector;
    const pool = warmPools.get(upstream);
    return pool ? async () => pool.take() ?? cold() : cold;
  };
  const codec = new RequestStateCodec(
    Math.ceil(config.limits.inputRequestTimeout / 1000),
    requestStateKeys(services.keyStore?.secret),
    config.fleet.advertiseUrl,
  );
  const cache = { maxTtlMs: config.limits.maxCacheTtl };
  const isModern = (upstream: string) => upstreamOf(upstream).protocol === '2026-07-28';

  const openLink = async (upstream: string): Promise<UpstreamLink> => {
    const link = new UpstreamLink({
      name: upstream,
      connector: sessionConnector(upstream),
      timeoutMs: upstreamOf(upstream).timeout,
      restart: upstreamOf(upstream).restart,
      logger,
    });
    await link.start();
    return link;
  };
  const held = approvals ? { approvals: { service: approvals.service, hold: approvals.hold } } : {};
  const pins = new ToolPins({
    mode: config.policy.pinning,
    store: services.keyStore?.store.pins ?? memoryPinStore(),
    onDrift: (drift) => services.auditLog.record({ type: 'tool.drift', ...drift }),
    logger,
  });
  /** The policy over one upstream link; its catalog lists tools through the link itself. */
  const gatekeeperFor = (upstream: string, link: UpstreamLink, under: Policy = policy): Gatekeeper => {
    // A 2026 upstream needs an envelope on every request; the gateway lists with no client capabilities.
    const meta = isModern(upstream) ? { _meta: gatewayEnvelope() } : {};
    const catalog = new ToolCatalog(async (cursor) => {
      const params = { ...(cursor ? { cursor } : {}), ...meta };
      const answer = await link.request({ jsonrpc: '2.0', id: 0, method: 'tools/list', params }).response;
      return 'result' in answer ? answer.result : {};
    }, config.limits.maxCacheTtl);
    return new Gatekeeper({ policy: under, upstream, catalog, pins, ...held });
  };

  /** A channel to one upstream: its link, and `under` (the endpoint's policy) over it. */
  const openChannel = async (upstream: string, under: Policy = policy): Promise<Channel> => {
    const link = await openLink(upstream);
    // A 2025 client of a 2026 upstream: the adapter's catalog lists with the session's own envelope.
    const adapter = isModern(upstream)
      ? new ModernUpstreamAdapter(link, logger, config.limits.maxCacheTtl)
      : undefined;
    const gatekeeper = adapter
      ? new Gatekeeper({ policy: under, upstream, catalog: adapter.catalog, pins, ...held })
      : gatekeeperFor(upstream, link, under);
    return { upstream, link: adapter ?? link, gatekeeper };
  };
  const aggregates = aggregateEndpoints(config, policy, logger);

  return {
    sessions,
    aggregates,
    connectors,
    warmPools,
    pins,
    async openSession(upstream, principal) {
      const common = { principal, runCall, maxStreams: config.limits.streamsPerSession, logger };
      const aggregate = aggregates.get(upstream);
      if (!aggregate) return new Session({ ...common, upstream, channels: [await openChannel(upstream)] });
      const { deadline } = config.aggregate;
      const join = (member: string) => openChannel(member, aggregate.policy);
      const opened = await Promise.all(
        aggregate.router.members.map((member) =>
          // One that starts after the deadline is closed: the session has gone on without it.
          withDeadline(join(member), deadline, (late) => void late.link.close()).catch((err: Error) => {
            logger.warn(
              { upstream: member, err: err.message },
              'aggregate: upstream left out of a new session',
            );
            return undefined;
          }),
        ),
      );
      const channels = opened.filter((c): c is Channel => c !== undefined);
      if (channels.length === 0) {
        throw new GatewayError(
          'upstream_unavailable',
          `no upstream of ${aggregate.path} could be reached — retry shortly`,
          {
            rpcCode: RPC.upstreamUnavailable,
          },
        );
      }
      return new Session({
        ...common,
        upstream,
        channels,
        aggregate: {
          router: aggregate.router,
          absent: aggregate.router.members.filter((u) => !channels.some((c) => c.upstream === u)),
          rejoin: join,
          backoff: (member) => upstreamOf(member).restart,
        },
      });
    },
    // A 2026 upstream's calls are parked nowhere: it mints and reads its own states. On the
    // aggregate, a state the codec cannot open is a 2026 upstream's own (the caller serves it here).
    stateOwner: async (upstream, state) =>
      !aggregates.has(upstream) && isModern(upstream) ? undefined : codec.owner(state),
    async openBridge(upstream, principal) {
      const link = await openLink(upstream);
      const gatekeeper = gatekeeperFor(upstream, link);
      if (isModern(upstream)) return new ModernPassthrough({ principal, gatekeeper, link, cache, logger });
      const bridge = new LegacyBridge({
        principal,
        gatekeeper,
        link,
        codec,
        cache,
        parkTtlMs: config.limits.inputRequestTimeout,
        logger,
      });
      try {
        await bridge.start();
      } catch (err) {
        await bridge.close();
        throw err;
      }
      return bridge;
    },
  };
}

/** One pool per stdio upstream with `warm: N`, filling from the start; ended (children killed) at stop. */
function openWarmPools(
  upstreams: Readonly<Record<string, UpstreamConfig>>,
  connectors: ReadonlyMap<string, Connector>,
  logger: Logger,
  closer: Closer,
): Map<string, WarmPool> {
  const pools = new Map<string, WarmPool>();
  for (const [name, upstream] of Object.entries(upstreams)) {
    if (upstream.command === undefined || upstream.warm === 0) continue;
    const pool = new WarmPool({
      name,
      size: upstream.warm,
      connector: connectors.get(name) as Connector,
      readyTimeoutMs: upstream.timeout,
      backoff: upstream.restart,
      logger,
    });
    pools.set(
      name,
      closer.add(`warm pool ${name}`, pool, (p) => p.close()),
    );
    pool.fill();
  }
  return pools;
}
