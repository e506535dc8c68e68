/**
 * A fleet on loopback, as the README's "Running a fleet" describes it: several gateway processes
 * started through the CLI (dist/) with one config but their own port and fleet.advertiseUrl, one
 * shared store and secret, and Debian's HAProxy in front — round robin, 2025 sessions stuck to
 * their instance on Mcp-Session-Id, /readyz as the health check.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { captureGateway } from './capture.js';
import { type ServingCli, serveCli } from './cli.js';
import { eventually, NODE } from './gateway.js';
import { freePort, type RunningProcess } from './processes.js';

const CLI = resolve('dist/cli/main.js');

/** The HAProxy configuration the README shows, for these gateway ports. */
export function haproxyConfig(frontPort: number, gatewayPorts: readonly number[]): string {
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  option forwardfor
  # A session's instance is down: send its requests elsewhere, where they get 404 and re-initialize.
  option redispatch

frontend mcp
  bind 127.0.0.1:${frontPort}
  default_backend gateways

backend gateways
  balance roundrobin
  # 2025 sessions live in one instance's memory: learn the id from the initialize answer, then
  # send every request carrying it to the same instance.
  stick-table type string len 64 size 100k expire 30m
  stick store-response res.hdr(mcp-session-id)
  stick match req.hdr(mcp-session-id)
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
${gatewayPorts.map((port, i) => `  server g${i} 127.0.0.1:${port} check`).join('\n')}
`;
}

export interface FleetInstance {
  readonly port: number;
  /** The instance's own origin, bypassing the balancer. */
  readonly url: string;
  readonly cli: ServingCli;
}

export interface Fleet {
  /** The balancer's origin: what clients use. */
  readonly url: string;
  readonly instances: readonly FleetInstance[];
  /** The config file every instance runs with (but its port and advertiseUrl). */
  readonly configFile: string;
  stop(): Promise<void>;
}

export interface FleetOptions {
  readonly dir: string;
  readonly instances: number;
  /** The config, with {port} and {publicUrl} to fill in per instance. */
  readonly yaml: string;
  readonly env: NodeJS.ProcessEnv;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const frontPort = await freePort();
  const publicUrl = `http://127.0.0.1:${frontPort}`;
  const ports: number[] = [];
  for (let i = 0; i < options.instances; i++) ports.push(await freePort());
  const configFile = join(options.dir, 'portcullis.yaml');
  writeFileSync(configFile, options.yaml.replaceAll('{port}', '0').replaceAll('{publicUrl}', publicUrl));
  const instances: FleetInstance[] = [];
  let haproxy: RunningProcess | undefined;
  const stop = async () => {
    await haproxy?.stop();
    await Promise.all(instances.map((i) => i.cli.stop()));
    for (const instance of instances) captureGateway([instance.cli.stdout()], undefined);
  };
  try {
    // One at a time: the first start creates the store, the others find it.
    for (const [i, port] of ports.entries()) {
      const file = join(options.dir, `instance-${i}.yaml`);
      writeFileSync(
        file,
        options.yaml.replaceAll('{port}', String(port)).replaceAll('{publicUrl}', publicUrl),
      );
      const cli = await serveCli([NODE, CLI, 'start', '--config', file], { env: options.env });
      instances.push({ port, url: `http://127.0.0.1:${port}`, cli });
    }
    const cfg = join(options.dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(frontPort, ports));
    const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    haproxy = {
      child,
      output,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      },
    };
    if (!(await eventually(() => portOpen(frontPort), 10_000)))
      throw new Error(`haproxy did not start:\n${output.join('')}`);
    return {
      url: publicUrl,
      instances,
      configFile,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
