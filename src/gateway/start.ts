/** Builds a running gateway from a loaded config: upstream connectors, sessions, pipeline, server. */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { keyCreatedEvent } from '../audit/admin-events.js';
import { AuditLog, stdoutSink } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/events.js';
import { securityPosture } from '../audit/posture.js';
import { Redactor } from '../audit/redact.js';
import { BOOTSTRAP_ADMIN, bootstrapAdmin } from '../auth/bootstrap-admin.js';
import { protectedResourceMetadata } from '../auth/protected-resource.js';
import { setupAuthentication } from '../auth/setup.js';
import { authMethods } from '../config/auth-schema.js';
import type { LoadedConfig } from '../config/load.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { Principal } from '../core/principal.js';
import { VERSION } from '../core/version.js';
import { resourceUrl } from '../http/resource-url.js';
import { attachFrontDoor, createHttpServer } from '../http/server.js';
import { RateLimiters } from '../limits/rate-limiters.js';
import { limitStages } from '../limits/stages.js';
import type { Logger } from '../log/logger.js';
import { isLoopbackHost } from '../net/loopback.js';
import { AuthorizationServer } from '../oauth/authorization-server.js';
import type { LoopbackTestOverride } from '../oauth/client-metadata-document.js';
import { GatewayMetrics, metricsHandler } from '../observability/metrics.js';
import { Readiness } from '../observability/readiness.js';
import { createTracing } from '../observability/tracing.js';
import { mcpPipeline } from '../pipeline/mcp-stages.js';
import { ToolCatalog } from '../policy/catalog.js';
import { Gatekeeper } from '../policy/gatekeeper.js';
import { Policy } from '../policy/policy.js';
import { checkRulePatterns, checkRuleScopes } from '../policy/startup-check.js';
import { scopesSupported } from '../policy/vocabulary.js';
import type { ModernBackend } from '../relay/modern/backend.js';
import { gatewayEnvelope } from '../relay/modern/envelope.js';
import { LegacyBridge } from '../relay/modern/legacy-bridge.js';
import { ModernUpstreamAdapter } from '../relay/modern/modern-upstream-adapter.js';
import { ModernPassthrough } from '../relay/modern/passthrough.js';
import { modernRelay } from '../relay/modern/relay.js';
import { RequestStateCodec } from '../relay/modern/request-state.js';
import { Session } from '../relay/session.js';
import { SessionRegistry } from '../relay/session-registry.js';
import { UpstreamLink } from '../relay/upstream-link.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { Connector } from '../upstream/connection.js';
import { startHttp } from '../upstream/http.js';
import { redactUrl } from '../upstream/redact-url.js';
import { runningChildren, startStdio } from '../upstream/stdio.js';

export interface RunningGateway {
  /** The base URL the gateway listens on, e.g. http://127.0.0.1:8787 */
  readonly url: string;
  readonly port: number;
  /** The admin API key created on a first start (auth.apiKeys.bootstrapAdmin), to be shown once. */
  readonly bootstrapKey: string | undefined;
  /** The password of the `admin` user created on a first start (auth.basic.bootstrapAdmin), to be shown once. */
  readonly bootstrapPassword: string | undefined;
  /** Stops serving, closes sessions, records gateway.stop and flushes the audit trail. */
  close(reason?: string): Promise<void>;
}

/**
 * Hooks for the end-to-end tests, and only for them: startGateway's third parameter, which the CLI
 * never passes. Nothing in the config file, the environment or the command line can set them.
 */
export interface GatewayTestHooks {
  /**
   * Lets Client ID Metadata Documents be fetched from a loopback https server with its own CA, so a
   * test can serve one; a running gateway always refuses loopback and private addresses.
   */
  readonly clientMetadataDocuments?: LoopbackTestOverride;
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

export async function startGateway(
  loaded: LoadedConfig,
  logger: Logger,
  testing?: GatewayTestHooks,
): Promise<RunningGateway> {
  const { config, baseDir } = loaded;
  const names = Object.keys(config.upstreams);
  const connectors = new Map(
    names.map((name) => [
      name,
      connectorFor(name, config.upstreams[name] as UpstreamConfig, baseDir, logger),
    ]),
  );
  const sessions = new SessionRegistry<Session>(config.limits.sessionIdleTimeout, logger);
  const bridges = new SessionRegistry<ModernBackend>(config.limits.sessionIdleTimeout, logger);
  const codec = new RequestStateCodec(Math.ceil(config.limits.inputRequestTimeout / 1000));

  const openLink = async (upstream: string): Promise<UpstreamLink> => {
    const upstreamConfig = config.upstreams[upstream] as UpstreamConfig;
    const link = new UpstreamLink({
      name: upstream,
      connector: connectors.get(upstream) as Connector,
      timeoutMs: upstreamConfig.timeout,
      restart: upstreamConfig.restart,
      logger,
    });
    await link.start();
    return link;
  };
  const policy = new Policy(config.policy);
  const isModern = (upstream: string) =>
    (config.upstreams[upstream] as UpstreamConfig).protocol === '2026-07-28';
  /** The policy over one upstream connection; its catalog lists tools through `via`. */
  /** The policy over one upstream link; its catalog lists tools through the link itself. */
  const gatekeeperFor = (upstream: string, link: UpstreamLink): Gatekeeper => {
    // A 2026 upstream needs an envelope on every request; the gateway lists with no client capabilities.
    const meta = isModern(upstream) ? { _meta: gatewayEnvelope() } : {};
    const catalog = new ToolCatalog(async (cursor) => {
      const params = { ...(cursor ? { cursor } : {}), ...meta };
      const answer = await link.request({ jsonrpc: '2.0', id: 0, method: 'tools/list', params }).response;
      return 'result' in answer ? answer.result : {};
    }, config.limits.maxCacheTtl);
    return new Gatekeeper({ policy, upstream, catalog });
  };
  const openSession = async (upstream: string, principal: Principal): Promise<Session> => {
    const link = await openLink(upstream);
    // A 2025 client of a 2026 upstream: the adapter's catalog lists with the session's own envelope.
    const adapter = isModern(upstream)
      ? new ModernUpstreamAdapter(link, logger, config.limits.maxCacheTtl)
      : undefined;
    const gatekeeper = adapter
      ? new Gatekeeper({ policy, upstream, catalog: adapter.catalog })
      : gatekeeperFor(upstream, link);
    return new Session({
      principalId: principal.id,
      link: adapter ?? link,
      gatekeeper,
      maxStreams: config.limits.streamsPerSession,
      logger,
    });
  };
  const cache = { maxTtlMs: config.limits.maxCacheTtl };
  /** A 2026-07-28 client's backend: passthrough to a 2026 upstream, or a bridge to a 2025 one. */
  const openBridge = async (upstream: string, principal: Principal): Promise<ModernBackend> => {
    const link = await openLink(upstream);
    const principalId = principal.id;
    const gatekeeper = gatekeeperFor(upstream, link);
    if (isModern(upstream)) return new ModernPassthrough({ principalId, gatekeeper, link, cache, logger });
    const bridge = new LegacyBridge({
      principalId,
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
  };

  const describe = (name: string) => {
    const u = config.upstreams[name] as UpstreamConfig;
    return u.command !== undefined
      ? { transport: 'stdio', command: u.command }
      : { transport: 'http', url: redactUrl(u.url ?? '') };
  };

  // Read before anything that holds a connection or a file open, so that a bad path fails cleanly.
  const tls = config.listen.tls
    ? {
        cert: readPem(baseDir, 'cert', config.listen.tls.cert),
        key: readPem(baseDir, 'key', config.listen.tls.key),
      }
    : undefined;
  const limiters = await RateLimiters.create(config.store.redis, logger);
  const limits = limitStages(config.limits, limiters);
  const keyStore =
    config.auth.apiKeys || config.auth.oauth || config.audit.store ? openStore(config, baseDir) : undefined;
  const metrics = config.metrics.enabled ? new GatewayMetrics({ upstreams: names }) : undefined;
  const tracing = await createTracing({ ...config.tracing, logger, secrets: loaded.secrets });
  const auditLog = new AuditLog({
    redactor: new Redactor(loaded.secrets, { pii: config.audit.redactPersonalData }),
    ...(config.audit.stdout ? { sink: stdoutSink(logger) } : {}),
    ...(config.audit.store && keyStore ? { store: keyStore.store.audit } : {}),
    logger,
    logArguments: config.audit.logArguments,
    rateLimitWindow: config.audit.rateLimitWindow,
    ...(metrics ? { onEvent: (event: AuditEvent) => metrics.countEvent(event) } : {}),
  });
  metrics?.watch({
    sessions: () => sessions.size,
    bridges: () => bridges.size,
    childProcesses: runningChildren,
    audit: auditLog,
  });
  const server = createHttpServer({ bodyTimeout: config.limits.bodyTimeout, ...(tls ? { tls } : {}) });
  const port = await listen(server, config.listen.host, config.listen.port).catch(async (err: Error) => {
    await auditLog.close();
    await tracing.shutdown();
    await keyStore?.store.close();
    await limiters.close();
    throw err;
  });
  const url = `${tls ? 'https' : 'http'}://${hostForUrl(config.listen.host)}:${port}`;
  const publicUrl = new URL(config.publicUrl ?? url);
  const scopes = scopesSupported(names, config.policy.rules);
  const oauthConfig = config.auth.oauth;
  // auth.basic.bootstrapAdmin: the `admin` user joins the configured ones (its hash beside the store).
  const admin =
    config.auth.basic?.bootstrapAdmin && !Object.hasOwn(config.auth.basic.users, BOOTSTRAP_ADMIN)
      ? await bootstrapAdmin(resolve(baseDir, config.store.sqlite))
      : undefined;
  const authConfig =
    admin && config.auth.basic
      ? {
          ...config.auth,
          basic: {
            ...config.auth.basic,
            users: {
              ...config.auth.basic.users,
              [BOOTSTRAP_ADMIN]: { passwordHash: admin.passwordHash, roles: ['admin'] },
            },
          },
        }
      : config.auth;
  const auth = setupAuthentication(
    authConfig,
    publicUrl,
    keyStore,
    oauthConfig && keyStore
      ? (users) =>
          new AuthorizationServer({
            config: oauthConfig,
            publicUrl,
            secret: oauthConfig.signingSecret
              ? Buffer.from(oauthConfig.signingSecret, 'utf8')
              : keyStore.secret,
            stores: keyStore.store.oauth,
            users,
            roles: policy.roles,
            scopes,
            resources: endpointPaths(names).map((path) => resourceUrl(publicUrl, path)),
            upstreams: names,
            registrationLimiter: limiters.create('oauth-register', oauthConfig.registrationPerIp),
            audit: auditLog,
            ...(testing?.clientMetadataDocuments
              ? { clientMetadataDocumentsTestOverride: testing.clientMetadataDocuments }
              : {}),
          })
      : undefined,
  );
  const { oauth } = auth;
  // Expired codes, tokens and revocations are only kept to be refused; clear them out now and then.
  const purge =
    oauth && keyStore ? setInterval(() => void purgeExpired(keyStore.store), 10 * 60_000) : undefined;
  purge?.unref();
  const bootstrap =
    auth.apiKeys && config.auth.apiKeys?.bootstrapAdmin && (await keyStore?.store.apiKeys.count()) === 0
      ? await auth.apiKeys.create({ name: 'admin', scopes: ['*'], expiresAt: null })
      : undefined;
  if (bootstrap) auditLog.record(keyCreatedEvent(bootstrap.record, { via: 'gateway' }));
  const bootstrapKey = bootstrap?.key;
  const readiness = new Readiness({
    upstreams: config.upstreams,
    baseDir,
    ...(keyStore ? { storeOk: () => keyStore.store.ping() } : {}),
    limits: () => limiters.state,
    sessions: () => sessions.size + bridges.size,
    readOnly: config.policy.readOnly,
  });
  attachFrontDoor(server, {
    upstreams: names,
    stages: mcpPipeline(config, publicUrl, auth.authenticators, limits, {
      sessions,
      openSession,
      maxSessions: config.limits.sessions,
      modern: modernRelay({ bridges, openBridge }),
    }),
    resourceMetadata: (path, upstream) =>
      protectedResourceMetadata(config.auth, publicUrl, path, upstream, scopes),
    ...(oauth ? { oauth: { server: oauth, limitIp: limits.ip } } : {}),
    trustedProxies: config.listen.trustedProxies,
    allowedOrigins: config.listen.allowedOrigins,
    publicUrl,
    audit: { log: auditLog, ...(metrics ? { metrics } : {}) },
    tracing,
    ...(metrics
      ? { metrics: metricsHandler(metrics, config.metrics.token ? { token: config.metrics.token } : {}) }
      : {}),
    readiness: () => readiness.report(),
    logger,
  });
  logger.info(
    {
      listen: url,
      publicUrl: publicUrl.href,
      upstreams: Object.fromEntries(names.map((n) => [n, describe(n)])),
      auth: config.auth.none ? 'none' : authMethods(config.auth),
      policy: {
        readOnly: config.policy.readOnly,
        limits: limiters.state,
        rules: config.policy.rules.length,
        guardedTools: Object.keys(config.policy.tools).length,
      },
    },
    'portcullis started',
  );
  const keyGrants = keyStore
    ? (await keyStore.store.apiKeys.list()).flatMap((k) => [
        ...k.scopes,
        ...k.roles.flatMap((r) => policy.roles[r] ?? []),
      ])
    : [];
  checkRuleScopes(config, policy, keyGrants, logger);
  checkRulePatterns(config, policy, connectors, logger);
  if (!tls && !isLoopbackHost(config.listen.host) && config.listen.trustedProxies.length === 0) {
    logger.warn(
      `listening on ${config.listen.host} over plain HTTP: credentials would cross the network in clear — set listen.tls, or listen.trustedProxies for a TLS-terminating proxy`,
    );
  }
  if (config.policy.readOnly) {
    logger.warn('read-only mode: tools that are not read-only are removed from every catalog and refused');
  }
  if (config.auth.none) {
    logger.warn(
      'authentication is OFF (auth.none): anyone who can reach this loopback port can use every upstream',
    );
  }

  if (metrics && !config.metrics.token && !isLoopbackHost(config.listen.host)) {
    logger.warn(
      '/metrics is served without a token on a non-loopback address — set metrics.token, or metrics.enabled: false',
    );
  }

  if (bootstrapKey)
    logger.info('created the first admin API key (shown once on the terminal, stored only as a hash)');

  const startedAt = Date.now();
  auditLog.record({
    type: 'gateway.start',
    version: VERSION,
    pid: process.pid,
    listen: url,
    publicUrl: publicUrl.href,
    posture: securityPosture(config, limiters.state),
  });

  return {
    url,
    port,
    bootstrapKey,
    bootstrapPassword: admin?.password,
    async close(reason = 'close') {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([sessions.closeAll(), bridges.closeAll()]);
      if (purge) clearInterval(purge);
      auditLog.record({
        type: 'gateway.stop',
        reason,
        uptimeMs: Date.now() - startedAt,
        auditDropped: auditLog.dropped,
      });
      // Every event recorded so far reaches the store before it closes.
      await auditLog.close();
      await tracing.shutdown();
      await auth.close();
      await limiters.close();
      await keyStore?.store.close();
      logger.info('portcullis stopped');
    },
  };
}

/** The MCP endpoint paths: one per upstream, and /mcp when there is only one. */
function endpointPaths(names: readonly string[]): string[] {
  const paths = names.map((n) => `/servers/${n}/mcp`);
  return names.length === 1 ? ['/mcp', ...paths] : paths;
}

async function purgeExpired(store: Store): Promise<void> {
  const now = Date.now();
  await Promise.all([store.oauth.codes.purgeExpired(now), store.oauth.tokens.purgeExpired(now)]).catch(() => {
    // A failed purge is retried at the next interval; nothing depends on it.
  });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use — stop the other process or set listen.port`
          : `cannot listen on ${host}:${port} (${err.code ?? err.message}) — check listen.host and listen.port`;
      reject(new Error(hint));
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function readPem(baseDir: string, field: 'cert' | 'key', path: string): Buffer {
  const file = resolve(baseDir, path);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(
      `cannot read listen.tls.${field} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}) — check the path and its permissions`,
    );
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
