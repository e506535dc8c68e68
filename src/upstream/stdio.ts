/**
 * A stdio upstream: one child process speaking newline-delimited JSON-RPC.
 * Written on node:child_process rather than the SDK's StdioClientTransport because that transport
 * always merges the gateway's HOME, USER, SHELL… into the child's environment, and the child must
 * get only what the config lists plus a minimal PATH.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { UpstreamConfig } from '../config/schema.js';
import { type JsonRpcMessage, toMessage } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import type { UpstreamConnection } from './connection.js';

/** Largest single message a child may write; a child that exceeds it is ended (protects our memory). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const KILL_GRACE_MS = 2000;

/**
 * The child's whole environment: a minimal PATH (system dirs plus the directory of the Node binary,
 * so `command: node` works wherever Node is installed) and exactly the variables the config lists.
 */
export function childEnvironment(configured: Readonly<Record<string, string>>): Record<string, string> {
  const path = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  return { PATH: path, ...configured };
}

export interface StdioOptions {
  readonly name: string;
  readonly config: UpstreamConfig & { command: string };
  readonly baseDir: string;
  readonly logger: Logger;
}

let running = 0;

/** Stdio upstream processes of this gateway process that have started and not yet exited (a metric). */
export function runningChildren(): number {
  return running;
}

export async function startStdio(options: StdioOptions): Promise<UpstreamConnection> {
  const { name, config, baseDir, logger } = options;
  const log = logger.child({ upstream: name });
  const child = spawn(config.command, config.args, {
    cwd: resolve(baseDir, config.cwd ?? '.'),
    env: childEnvironment(config.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  await new Promise<void>((ok, fail) => {
    child.once('spawn', ok);
    // The command line stays in the log; the client learns only that the upstream could not start.
    child.once('error', (err: NodeJS.ErrnoException) => {
      log.error(
        { command: config.command, err: err.code ?? err.message },
        'upstream process could not start',
      );
      fail(new Error(`its process could not be started (${err.code ?? 'error'})`));
    });
  });
  running++;
  child.once('exit', () => running--);
  log.info({ pid: child.pid, command: config.command }, 'upstream process started');
  return new StdioConnection(child, log);
}

class StdioConnection implements UpstreamConnection {
  onmessage: (message: JsonRpcMessage) => void = () => {};
  onclose: (reason: Error) => void = () => {};
  private closing = false;
  private exited = false;

  get pid(): number | undefined {
    return this.exited ? undefined : this.child.pid;
  }

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly log: Logger,
  ) {
    this.readStdout();
    createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      this.log.info({ stream: 'stderr', pid: child.pid }, line);
    });
    child.stdin.on('error', (err) => this.log.debug({ err: err.message }, 'upstream stdin closed'));
    child.on('error', (err) => this.log.error({ err: err.message }, 'upstream process error'));
    child.on('exit', (code, signal) => {
      this.exited = true;
      if (this.closing) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      this.log.warn({ pid: child.pid, code, signal }, `upstream process ${how}`);
      this.onclose(new Error(`the upstream process ${how}`));
    });
  }

  /**
   * One message per line. Only each new chunk is searched for line ends (an unfinished line holds
   * none), so a large message arriving in many chunks is not scanned again with each one.
   */
  private readStdout(): void {
    let partial = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      let start = 0;
      let newline = chunk.indexOf('\n');
      while (newline !== -1) {
        const line = partial === '' ? chunk.slice(start, newline) : partial + chunk.slice(start, newline);
        partial = '';
        this.handleLine(line);
        start = newline + 1;
        newline = chunk.indexOf('\n', start);
      }
      if (start < chunk.length) partial += start === 0 ? chunk : chunk.slice(start);
      if (partial.length > MAX_LINE_BYTES) {
        this.log.error({ bytes: partial.length }, 'upstream wrote a message larger than 16 MiB; ending it');
        partial = '';
        this.child.kill('SIGKILL');
      }
    });
  }

  private handleLine(line: string): void {
    // JSON.parse takes the CR of a CRLF line end as whitespace; a blank line is skipped, not warned of.
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) return;
    let message: JsonRpcMessage;
    try {
      message = toMessage(JSON.parse(line));
    } catch (err) {
      // The content is not logged: a misbehaving server may print anything, secrets included.
      this.log.warn(
        { bytes: line.length, reason: (err as Error).message },
        'upstream wrote a line that is not JSON-RPC',
      );
      return;
    }
    this.onmessage(message);
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.exited || !this.child.stdin.writable) throw new Error('the upstream process is not running');
    const ok = this.child.stdin.write(`${JSON.stringify(message)}\n`);
    if (!ok) await new Promise((r) => this.child.stdin.once('drain', r));
  }

  setProtocolVersion(): void {
    // stdio carries no per-message headers.
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.log.info({ pid: this.child.pid }, 'upstream process stopped');
  }
}
