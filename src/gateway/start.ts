/** Builds a running gateway from a loaded config, as a short sequence of steps (one file each). */
import type { Server } from 'node:http';
import { securityPosture } from '../audit/posture.js';
import { authMethods } from '../config/auth-schema.js';
import type { LoadedConfig } from '../config/load.js';
import type { UpstreamConfig } from '../config/schema.js';
import { VERSION } from '../core/version.js';
import { answerClientErrors, createHttpServer } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import type { LoopbackTestOverride } from '../oauth/client-metadata-document.js';
import { Policy } from '../policy/policy.js';
import { scopesSupported } from '../policy/vocabulary.js';
import { redactUrl } from '../upstream/redact-url.js';
import { runningChildren } from '../upstream/stdio.js';
import { openAuth } from './auth.js';
import { openChannels } from './channels.js';
import { startupChecks } from './checks.js';
import { buildOrClose } from './closer.js';
import { Drain } from './drain.js';
import { Lifecycle } from './lifecycle.js';
import { type HeldPort, hostForUrl, listen } from './listen.js';
import { routes } from './router.js';
import { openServices } from './services.js';

/** How long a stop waits for the requests in flight, once their channels are closed. */
const DRAIN_TIMEOUT_MS = 5_000;

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

export function startGateway(
  loaded: LoadedConfig,
  logger: Logger,
  testing?: GatewayTestHooks,
): Promise<RunningGateway> {
  const { config } = loaded;
  return buildOrClose(logger, async (closer) => {
    const services = await openServices(loaded, logger, closer);
    const server = createHttpServer({
      bodyTimeout: config.limits.bodyTimeout,
      ...(services.tls ? { tls: services.tls } : {}),
    });
    answerClientErrors(server, logger);
    const held = await listen(server, config.listen.host, config.listen.port);
    // Registered early so that a failed start closes the port; close() runs it first of all.
    const stopServing = closer.add(
      'http server',
      () => stopListening(server, held),
      (stop) => stop(),
    );
    const lifecycle = closer.add('gateway.stop', new Lifecycle(services.auditLog), (l) => l.stopped());
    const drain = closer.add('requests in flight', new Drain(logger), (d) => d.settle(DRAIN_TIMEOUT_MS));
    const url = `${services.tls ? 'https' : 'http'}://${hostForUrl(config.listen.host)}:${held.port}`;
    const publicUrl = new URL(config.publicUrl ?? url);
    const policy = new Policy(config.policy);
    const scopes = scopesSupported(Object.keys(config.upstreams), config.policy.rules);
    const auth = await openAuth(loaded, services, { publicUrl, policy, scopes, ...testing }, closer);
    const channels = openChannels(loaded, services, policy, logger, closer);
    services.metrics?.watch({
      sessions: () => channels.sessions.size,
      childProcesses: runningChildren,
      audit: services.auditLog,
      warmPools: () => channels.warmPools.values(),
    });
    held.open(routes(loaded, { services, auth, channels, policy, publicUrl, scopes, drain }, logger));
    logger.info(startedLine(loaded, url, publicUrl, services.limiters.state), 'portcullis started');
    await startupChecks(loaded, services, channels, policy, logger);
    if (auth.bootstrapKey)
      logger.info('created the first admin API key (shown once on the terminal, stored only as a hash)');
    lifecycle.started({
      version: VERSION,
      pid: process.pid,
      listen: url,
      publicUrl: publicUrl.href,
      posture: securityPosture(config, services.limiters.state),
    });
    return {
      url,
      port: held.port,
      bootstrapKey: auth.bootstrapKey,
      bootstrapPassword: auth.bootstrapPassword,
      async close(reason = 'close') {
        lifecycle.reason = reason;
        await stopServing();
        await closer.closeAll();
        logger.info('portcullis stopped');
      },
    };
  });
}

/** Stops accepting requests and ends open ones (SSE streams included); once, however often called. */
function stopListening(server: Server, held: HeldPort): Promise<void> {
  held.refuse();
  if (!server.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function startedLine(loaded: LoadedConfig, url: string, publicUrl: URL, limits: unknown): object {
  const { config } = loaded;
  const describe = (u: UpstreamConfig) =>
    u.command !== undefined
      ? { transport: 'stdio', command: u.command }
      : { transport: 'http', url: redactUrl(u.url ?? '') };
  return {
    listen: url,
    publicUrl: publicUrl.href,
    upstreams: Object.fromEntries(Object.entries(config.upstreams).map(([n, u]) => [n, describe(u)])),
    auth: config.auth.none ? 'none' : authMethods(config.auth),
    policy: {
      readOnly: config.policy.readOnly,
      limits,
      rules: config.policy.rules.length,
      guardedTools: Object.keys(config.policy.tools).length,
    },
  };
}
