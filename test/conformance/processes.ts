/**
 * The child processes of a conformance run (servers, the gateway, the suite): started without a
 * shell, their output kept for diagnostics, and every one stopped by its own PID at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** A child process this runner started, with its output kept for diagnostics. */
export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Echo the process's output, prefixed with its name, as it arrives. */
  readonly echo?: boolean;
}

const started = new Set<Started>();

export function startProcess(opts: StartOptions): Started {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (opts.echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${opts.name}] `));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
    child.once('exit', () => resolveExit());
    // spawn failures (e.g. ENOENT) emit 'error' and may never emit 'exit'.
    child.once('error', (err) => {
      output += `\n${err.message}\n`;
      resolveExit();
    });
  });
  const proc: Started = { name: opts.name, child, output: () => output, exited };
  started.add(proc);
  exited.then(() => started.delete(proc));
  return proc;
}

export function isRunning(proc: Started): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null && proc.child.pid !== undefined;
}

/** Stops one process by its PID: SIGTERM, then SIGKILL if it is still there after a grace period. */
export async function stopProcess(proc: Started): Promise<void> {
  if (!isRunning(proc)) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(proc)) proc.child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await proc.exited;
  clearTimeout(timer);
}

/** Stops every process this runner started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map(stopProcess));
}

/** Rejects when `proc` exits before `ready` settles, so a crash is reported instead of a timeout. */
export function untilReady<T>(proc: Started, ready: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not ready after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
  });
  const crashed = proc.exited.then(() => {
    throw new Error(`${what}: exited (code ${proc.child.exitCode}) before it was ready:\n${proc.output()}`);
  });
  return Promise.race([ready, timeout, crashed]).finally(() => clearTimeout(timer));
}

/** Resolves with the first match of `pattern` in the process's output (stdout or stderr). */
export function outputMatch(proc: Started, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolveMatch) => {
    const look = () => {
      const match = pattern.exec(proc.output());
      if (!match) return false;
      resolveMatch(match);
      return true;
    };
    if (look()) return;
    const onData = () => {
      if (!look()) return;
      proc.child.stdout?.off('data', onData);
      proc.child.stderr?.off('data', onData);
    };
    // Registered after startProcess's collectors, so output() already holds the chunk.
    proc.child.stdout?.on('data', onData);
    proc.child.stderr?.on('data', onData);
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}
