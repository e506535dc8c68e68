/**
 * What the suite is pointed at: an upstream served directly over Streamable HTTP, or the gateway
 * with its default config in front of that upstream.
 *
 * Upstreams: `test-server` is our conformance server (test/conformance/server.ts); `everything` is
 * the real @modelcontextprotocol/server-everything from node_modules (a 2025-11-25 server).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  freePort,
  isRunning,
  outputMatch,
  REPO_ROOT,
  type Started,
  startProcess,
  untilReady,
} from './processes.js';

const TEST_SERVER = join(REPO_ROOT, 'test/conformance/server.ts');
const EVERYTHING = join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

export type UpstreamName = 'test-server' | 'everything';
export const UPSTREAMS: readonly UpstreamName[] = ['test-server', 'everything'];

/**
 * The test server's HTTP modes: `http` serves 2025-11-25 (sessions); `http-modern` serves 2026-07-28
 * (stateless, per request) and 2025-11-25 sessions on the same endpoint.
 */
export type ServerMode = 'http' | 'http-modern';

/** Revisions from 2026-07-28 on are stateless; dates compare as strings. */
export function isModernRevision(specVersion: string): boolean {
  return specVersion >= '2026-07-28';
}

/** The test server mode a spec version is run against unless --server-mode says otherwise. */
export function defaultServerMode(specVersion: string): ServerMode {
  return isModernRevision(specVersion) ? 'http-modern' : 'http';
}

/** Starts the test server in an HTTP mode and resolves with its MCP URL once it listens. */
export async function startTestServer(mode: ServerMode, echo: boolean): Promise<string> {
  // Port 0: the server binds a free port itself and announces it, so no other process can take it
  // between our choosing and its binding.
  const proc = startProcess({
    name: 'test-server',
    command: process.execPath,
    args: ['--import', 'tsx', TEST_SERVER, mode, '--port', '0'],
    echo,
  });
  const match = await untilReady(
    proc,
    outputMatch(proc, /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/),
    'test server',
  );
  return match[1] as string;
}

/**
 * Starts server-everything in its Streamable HTTP mode and resolves with its MCP URL. It takes its
 * port from PORT and binds every interface (it has no host setting); only 127.0.0.1 is contacted.
 */
export async function startEverythingHttp(echo: boolean): Promise<string> {
  const port = await freePort();
  const proc = startProcess({
    name: 'everything',
    command: process.execPath,
    args: [EVERYTHING, 'streamableHttp'],
    env: { PORT: String(port) },
    echo,
  });
  await untilReady(proc, outputMatch(proc, /listening on port \d+/), 'server-everything');
  return `http://127.0.0.1:${port}/mcp`;
}

/** How the gateway reaches its upstream: as its stdio child, or over Streamable HTTP. */
export type Via = 'stdio' | 'http';
export const VIAS: readonly Via[] = ['stdio', 'http'];

/** The gateway's one upstream: a stdio command, or an HTTP server speaking `protocol`. */
export type GatewayUpstream =
  | { readonly kind: 'stdio'; readonly upstream: UpstreamName }
  | { readonly kind: 'http'; readonly url: string; readonly protocol: '2025-11-25' | '2026-07-28' };

/**
 * How the gateway reaches an upstream unless --via says otherwise: server-everything and, for
 * 2025-11-25, the test server as its stdio child; for 2026-07-28 the test server over HTTP in
 * http-modern mode, so the gateway's 2026-07-28 upstream path (passthrough) is the one under test.
 * (The test server over stdio for 2026-07-28 tests the bridge from 2026-07-28 clients to a 2025
 * upstream, as server-everything does.)
 */
export function defaultVia(upstream: UpstreamName, specVersion: string): Via {
  return upstream === 'test-server' && isModernRevision(specVersion) ? 'http' : 'stdio';
}

/** Starts what the gateway needs apart from itself (an HTTP upstream) and describes its upstream. */
export async function gatewayUpstream(
  upstream: UpstreamName,
  via: Via,
  echo: boolean,
): Promise<GatewayUpstream> {
  if (via === 'stdio') return { kind: 'stdio', upstream };
  if (upstream === 'everything') {
    return { kind: 'http', url: await startEverythingHttp(echo), protocol: '2025-11-25' };
  }
  return { kind: 'http', url: await startTestServer('http-modern', echo), protocol: '2026-07-28' };
}

export function describeUpstream(upstream: GatewayUpstream): string {
  return upstream.kind === 'stdio'
    ? `the stdio ${upstream.upstream}`
    : `the ${upstream.protocol} HTTP upstream ${upstream.url}`;
}

/**
 * The gateway config: the default config plus exactly what a run needs — `auth: { none: true }`
 * (the suite sends no credentials) and the one upstream. `listen.port` is a free port so runs
 * never collide with another gateway on the default 8787; `protocol: 2026-07-28` tells the gateway
 * that the http-modern test server speaks that revision (the default, 2025-11-25, is left out).
 * Everything else (limits, policy, audit, listen.host 127.0.0.1) is left at its default, so the
 * suite tests what a user gets.
 */
export function gatewayConfig(port: number, upstream: GatewayUpstream): string {
  let conformance: Record<string, unknown>;
  if (upstream.kind === 'http') {
    conformance = {
      url: upstream.url,
      ...(upstream.protocol === '2026-07-28' ? { protocol: upstream.protocol } : {}),
    };
  } else {
    const args =
      upstream.upstream === 'everything' ? [EVERYTHING, 'stdio'] : ['--import', 'tsx', TEST_SERVER, 'stdio'];
    // cwd: the repository, where `--import tsx` resolves (the config, and so the gateway's base
    // directory, is in a temp dir).
    conformance = { command: process.execPath, args, cwd: REPO_ROOT };
  }
  return toYaml({
    listen: { port },
    auth: { none: true },
    upstreams: { conformance },
  });
}

/** Starts a gateway given the path of its config file; the runner stops it by PID afterwards. */
export type GatewayStarter = (configPath: string, echo: boolean) => Started;

/**
 * A GatewayStarter from a command line: `{config}` is replaced by the config path (or
 * `--config <path>` is appended when there is no placeholder). Words are split on whitespace and
 * run without a shell, so the PID stopped at the end is the gateway's own.
 */
export function gatewayFromCommand(commandLine: string): GatewayStarter {
  return (configPath, echo) => {
    const words = commandLine.trim().split(/\s+/);
    const hasPlaceholder = words.some((w) => w.includes('{config}'));
    const args = words.slice(1).map((w) => w.replaceAll('{config}', configPath));
    if (!hasPlaceholder) args.push('--config', configPath);
    const command = words[0] === 'node' ? process.execPath : (words[0] as string);
    return startProcess({ name: 'gateway', command, args, echo });
  };
}

export const DEFAULT_GATEWAY_CMD = `${process.execPath} dist/cli/main.js start --config {config}`;

/** Polls GET /healthz until it answers 200, for as long as the gateway process is alive. */
async function waitForHealthz(baseUrl: string, proc: Started): Promise<void> {
  while (isRunning(proc)) {
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the gateway in front of an upstream; resolves with the MCP URL once healthy. */
export async function startGatewayTarget(
  start: GatewayStarter,
  workDir: string,
  echo: boolean,
  upstream: GatewayUpstream,
): Promise<string> {
  const port = await freePort();
  const configPath = join(workDir, 'portcullis.conformance.yaml');
  await writeFile(configPath, gatewayConfig(port, upstream));
  const proc = start(configPath, echo);
  const baseUrl = `http://127.0.0.1:${port}`;
  await untilReady(proc, waitForHealthz(baseUrl, proc), 'gateway');
  return `${baseUrl}/mcp`;
}
