/** Child processes for tests: real servers on loopback ports, always stopped by PID. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const LOOPBACK_ONLY = resolve('test/helpers/loopback-only.mjs');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  stop(): Promise<void>;
}

/** Starts `node args…` and resolves once a line of its output matches `ready`. */
export async function startNode(
  args: readonly string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await once(child, 'exit');
    clearTimeout(timer);
  };
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`not ready after ${timeoutMs} ms:\n${output.join('')}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (ready.test(output.join(''))) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before ready:\n${output.join('')}`));
    });
  });
  return { child, output, stop };
}
