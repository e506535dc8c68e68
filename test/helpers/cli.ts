/** Runs a portcullis command that serves (start, wrap) as a user does, and waits for its banner. */
import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './gateway.js';

export interface ServingCli {
  readonly child: ChildProcess;
  /** The single-upstream MCP endpoint the banner names. */
  readonly url: string;
  /** Everything written to stderr (the banner) and stdout (log lines) so far. */
  stderr(): string;
  stdout(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function serveCli(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ServingCli> {
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  const endpoint = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/mcp)$/m;
  if (!(await eventually(() => endpoint.test(stderr) || child.exitCode !== null, 20_000))) {
    await stop();
    throw new Error(`no MCP endpoint in the banner:\n${stderr}`);
  }
  if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${stderr}`);
  return {
    child,
    url: endpoint.exec(stderr)?.[1] as string,
    stderr: () => stderr,
    stdout: () => stdout,
    stop,
  };
}
