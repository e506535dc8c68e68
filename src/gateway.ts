/** Builds a running gateway from a loaded config: upstream connectors, sessions, pipeline, server. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoadedConfig } from './config/load.js';
import type { UpstreamConfig } from './config/schema.js';
import { attachFrontDoor, createHttpServer } from './http/server.js';
import type { Logger } from './log/logger.js';
import { Session } from './mcp/session.js';
import { SessionRegistry } from './mcp/session-registry.js';
import { UpstreamLink } from './mcp/upstream-link.js';
import { mcpPipeline } from './pipeline.js';
import type { Connector } from './upstream/connection.js';
import { startHttp } from './upstream/http.js';
import { redactUrl } from './upstream/redact-url.js';
import { startStdio } from './upstream/stdio.js';

export interface RunningGateway {
  /** The base URL the gateway listens on, e.g. http://127.0.0.1:8787 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
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

export async function startGateway(loaded: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  const { config, baseDir } = loaded;
  const names = Object.keys(config.upstreams);
  const connectors = new Map(
    names.map((name) => [
      name,
      connectorFor(name, config.upstreams[name] as UpstreamConfig, baseDir, logger),
    ]),
  );
  const sessions = new SessionRegistry(config.limits.sessionIdleTimeout, logger);

  const openSession = async (upstream: string, principalId: string): Promise<Session> => {
    const upstreamConfig = config.upstreams[upstream] as UpstreamConfig;
    const link = new UpstreamLink({
      name: upstream,
      connector: connectors.get(upstream) as Connector,
      timeoutMs: upstreamConfig.timeout,
      restart: upstreamConfig.restart,
      logger,
    });
    await link.start();
    return new Session({ principalId, link, logger });
  };

  const describe = (name: string) => {
    const u = config.upstreams[name] as UpstreamConfig;
    return u.command !== undefined
      ? { transport: 'stdio', command: u.command }
      : { transport: 'http', url: redactUrl(u.url ?? '') };
  };

  const server = createHttpServer();
  const port = await listen(server, config.listen.host, config.listen.port);
  const url = `http://${hostForUrl(config.listen.host)}:${port}`;
  const publicUrl = new URL(config.publicUrl ?? url);
  attachFrontDoor(server, {
    upstreams: names,
    stages: mcpPipeline(config, publicUrl, { sessions, openSession }),
    readiness: () => ({
      status: 'ready',
      sessions: sessions.size,
      upstreams: Object.fromEntries(names.map((n) => [n, { transport: describe(n).transport }])),
    }),
    logger,
  });
  logger.info(
    {
      listen: url,
      publicUrl: publicUrl.href,
      upstreams: Object.fromEntries(names.map((n) => [n, describe(n)])),
      auth: config.auth.none ? 'none' : Object.keys(config.auth),
    },
    'portcullis started',
  );
  if (config.auth.none) {
    logger.warn(
      'authentication is OFF (auth.none): anyone who can reach this loopback port can use every upstream',
    );
  }

  return {
    url,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sessions.closeAll();
      logger.info('portcullis stopped');
    },
  };
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

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
