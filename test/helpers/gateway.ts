/** Starts a real gateway in this process with its log lines captured, for end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { type GatewayTestHooks, startGateway } from '../../src/gateway/start.js';
import { createLogger } from '../../src/log/logger.js';
import { captureGateway, captureSecrets } from './capture.js';

export const EVERYTHING = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = resolve('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const NODE = process.execPath;

export interface TestGateway {
  readonly url: string;
  readonly port: number;
  /** Every log line the gateway wrote, as written (after redaction). */
  readonly logs: string[];
  /** The admin API key created on a first start (auth.apiKeys.bootstrapAdmin). */
  readonly bootstrapKey: string | undefined;
  /** The `admin` password created on a first start (auth.basic.bootstrapAdmin). */
  readonly bootstrapPassword: string | undefined;
  /** Stops the gateway (once; later calls do nothing). */
  close(): Promise<void>;
}

/**
 * Starts a gateway from `yaml`; `baseDir` resolves its relative paths. A config that names no store
 * and lives in the repository gets a fresh temporary one, never the repository's ./data.
 */
export async function startTestGateway(
  yaml: string,
  env: NodeJS.ProcessEnv = {},
  baseDir = process.cwd(),
  /** Test-only hooks (src/gateway.ts GatewayTestHooks), e.g. metadata documents served on loopback. */
  testing?: GatewayTestHooks,
): Promise<TestGateway> {
  const parsed = parseConfig(yaml, baseDir, env);
  const storeDir =
    /^store:/m.test(yaml) || baseDir !== process.cwd() ? undefined : mkdtempSync(join(tmpdir(), 'pcl-gw-'));
  const loaded = storeDir
    ? {
        ...parsed,
        config: { ...parsed.config, store: { ...parsed.config.store, sqlite: join(storeDir, 'p.db') } },
      }
    : parsed;
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: loaded.secrets,
    destination: { write: (line: string) => void logs.push(line) },
  });
  captureSecrets(...loaded.secrets);
  const gateway = await startGateway(loaded, logger, testing).catch((err: unknown) => {
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    throw err;
  });
  captureSecrets(gateway.bootstrapKey, gateway.bootstrapPassword);
  let closed = false;
  return {
    url: gateway.url,
    port: gateway.port,
    logs,
    bootstrapKey: gateway.bootstrapKey,
    bootstrapPassword: gateway.bootstrapPassword,
    async close() {
      if (closed) return;
      closed = true;
      await gateway.close();
      captureGateway(logs, resolve(baseDir, loaded.config.store.sqlite));
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** YAML for one stdio upstream running `node script args…`. */
export function stdioUpstream(
  name: string,
  script: string,
  args: readonly string[] = [],
  extra = '',
): string {
  return `  ${name}:\n    command: ${JSON.stringify(NODE)}\n    args: ${JSON.stringify([script, ...args])}\n${extra}`;
}

export function gatewayYaml(upstreams: string, rest = ''): string {
  return `listen: { host: 127.0.0.1, port: 0 }\nauth: { none: true }\nupstreams:\n${upstreams}\n${rest}`;
}

/** The pids of upstream children the gateway started, in order, read from its log. */
export function childPids(logs: readonly string[]): number[] {
  return logs
    .map((line) => JSON.parse(line) as { msg?: string; pid?: number })
    .filter((entry) => entry.msg === 'upstream process started' && typeof entry.pid === 'number')
    .map((entry) => entry.pid as number);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}
