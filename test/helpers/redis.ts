/** A redis-server of the test's own on a free loopback port (the machine's Redis is never touched). */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface RedisServer {
  readonly pid: number;
  stop(): Promise<void>;
}

/** redis-server on 127.0.0.1:`port`, nothing persisted; resolves once it accepts connections. */
export async function startRedis(port: number): Promise<RedisServer> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  assert.ok(pid, 'redis-server started');
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`redis-server not ready:\n${output}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return {
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      // SIGKILL: Redis vanishes as in a crash, without a goodbye to its clients.
      process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}
