/**
 * Starting and stopping the processes of a target. Every process is started by this module, listens
 * on 127.0.0.1 only, logs to a file in a private temporary directory, and is stopped by PID together
 * with every descendant it started (the per-session children of stdio gateways).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  cpSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { ProcessSpec, Target } from './targets.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const LOOPBACK_ONLY = join(ROOT, 'test/helpers/loopback-only.mjs');
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

export interface RunOptions {
  /** Where logs, temporary configs and per-target directories go. */
  readonly workDir: string;
  /** The Portcullis CLI to start (main.js of a build of src/). */
  readonly portcullisCli: string;
  /**
   * When set, Portcullis processes run with --cpu-prof (writing CPU.*.cpuprofile into
   * <target>-<role>/ here on exit) and --heapsnapshot-signal=SIGUSR2 (the memory workload takes a heap snapshot, also here).
   */
  readonly profileDir?: string;
}

export interface StartedProcess {
  readonly role: string;
  /** Started through the Portcullis CLI (so it takes profiling flags). */
  readonly portcullis: boolean;
  readonly pid: number;
  readonly port: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** The API key created for it (ProcessSpec.apiKey). */
  readonly apiKey?: string;
}

export interface RunningTarget {
  readonly target: Target;
  readonly url: string;
  /** The target's headers with their placeholders filled in (e.g. its API key). */
  readonly headers: Readonly<Record<string, string>>;
  readonly processes: readonly StartedProcess[];
  /** The process clients talk to; its RSS is the one measured. */
  readonly main: StartedProcess;
  stop(): Promise<void>;
}

/** Every process this run started and has not yet stopped, so that SIGINT and errors can stop them. */
const live = new Set<StartedProcess>();

/**
 * A private copy of dist/ for this run, so that a rebuild by someone else while the bench runs
 * (npm test builds) cannot change the code under test halfway: <workDir>/portcullis/dist, with a
 * package.json ("type": "module") and a node_modules link to the repository's.
 */
export function snapshotDist(workDir: string): string {
  const dir = join(workDir, 'portcullis');
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  // The version too: src/core/version.ts reads it from here, as it does from the package.
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'module', version })}\n`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'dist/cli/main.js');
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{([a-z]+(?::[a-z0-9_-]+)?)\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`bench: unknown placeholder ${whole}`);
    return value;
  });
}

export async function startTarget(target: Target, options: RunOptions, suffix = ''): Promise<RunningTarget> {
  const dir = join(options.workDir, `${target.name}${suffix}`);
  mkdirSync(dir, { recursive: true });
  const values: Record<string, string> = {
    node: process.execPath,
    everything: EVERYTHING,
    root: ROOT,
    dir,
  };
  const started: StartedProcess[] = [];
  const stopAll = async () => {
    for (const p of [...started].reverse()) await stopProcess(p);
  };
  try {
    for (const spec of target.processes) {
      const port = await freePort();
      const scoped = { ...values, port: String(port) };
      const proc = startProcess(target, spec, scoped, dir, options, `${target.name}${suffix}`);
      started.push(proc);
      await waitReady(proc, spec.readyPath);
      values[`port:${spec.role}`] = String(port);
      if (proc.apiKey !== undefined) values[`apikey:${spec.role}`] = proc.apiKey;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const main = started[started.length - 1] as StartedProcess;
  const headers = Object.fromEntries(
    Object.entries(target.headers ?? {}).map(([name, value]) => [name, fill(value, values)]),
  );
  return {
    target,
    url: `http://127.0.0.1:${main.port}${target.mcpPath}`,
    headers,
    processes: started,
    main,
    stop: stopAll,
  };
}

function startProcess(
  target: Target,
  spec: ProcessSpec,
  values: Readonly<Record<string, string>>,
  dir: string,
  options: RunOptions,
  instance: string,
): StartedProcess {
  const args: string[] = [];
  let apiKey: string | undefined;
  if (spec.loopbackOnly) args.push('--import', LOOPBACK_ONLY);
  if (spec.portcullis !== undefined) {
    const configFile = join(dir, `${spec.role}.yaml`);
    writeFileSync(configFile, fill(spec.portcullis, values));
    if (options.profileDir !== undefined) {
      // Written when the process exits (it does so cleanly on SIGTERM), one file per thread.
      args.push('--cpu-prof', '--cpu-prof-dir', join(options.profileDir, `${instance}-${spec.role}`));
      args.push('--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', options.profileDir);
    }
    args.push(options.portcullisCli, 'start', '--config', configFile);
    if (spec.apiKey !== undefined)
      apiKey = createApiKey(options.portcullisCli, configFile, dir, spec.apiKey.scopes);
  } else if (spec.node !== undefined) {
    args.push(...spec.node.map((a) => fill(a, values)));
  } else {
    throw new Error(`bench: target ${target.name} process ${spec.role} has neither node nor portcullis`);
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = fill(v, values);
  const logFile = join(dir, `${spec.role}.log`);
  const fd = openSync(logFile, 'a');
  // detached: a Ctrl-C in the terminal reaches only the harness, which then stops everything in order.
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`bench: could not start ${target.name}/${spec.role}`);
  const proc: StartedProcess = {
    role: `${target.name}/${spec.role}`,
    portcullis: spec.portcullis !== undefined,
    pid: child.pid,
    port: Number(values.port),
    logFile,
    child,
    ...(apiKey === undefined ? {} : { apiKey }),
  };
  live.add(proc);
  return proc;
}

/** `portcullis keys create` on the process's config (so in its store): the key it prints once. */
function createApiKey(cli: string, configFile: string, dir: string, scopes: readonly string[]): string {
  const result = spawnSync(
    process.execPath,
    [cli, 'keys', 'create', '--name', 'bench', '--scopes', scopes.join(','), '--config', configFile],
    { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8', timeout: 20_000 },
  );
  const key = (result.stdout ?? '').split('\n').find((line) => /^pcl_[A-Za-z0-9_-]{43}$/.test(line.trim()));
  if (result.status !== 0 || key === undefined) {
    throw new Error(`bench: could not create an API key for ${configFile}:\n${result.stderr ?? ''}`);
  }
  return key.trim();
}

async function waitReady(proc: StartedProcess, path: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`bench: ${proc.role} exited before it was ready:\n${tail(proc.logFile)}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${proc.port}${path}`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`bench: ${proc.role} not ready after ${READY_TIMEOUT_MS} ms:\n${tail(proc.logFile)}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resident set size of a process in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process (pids are reused). */
  readonly start: string;
  /** R, S, D, Z (zombie: exited, not yet reaped)… */
  readonly state: string;
  /** User + system CPU time, in clock ticks. */
  readonly ticks: number;
}

/** USER_HZ: /proc reports CPU time in these ticks per second (100 on every Linux architecture). */
const TICKS_PER_SECOND = 100;

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(fields[1]),
      start: fields[19] as string,
      state: fields[0] as string,
      ticks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

function allProcs(): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProc(Number(entry));
    if (info) all.push(info);
  }
  return all;
}

/** Every live descendant of `pid` (children, grandchildren…), read from /proc. */
export function descendants(pid: number, all: readonly ProcInfo[] = allProcs()): ProcInfo[] {
  const found: ProcInfo[] = [];
  const parents = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const info of all) {
      if (parents.has(info.ppid) && !parents.has(info.pid)) {
        parents.add(info.pid);
        found.push(info);
        grew = true;
      }
    }
  }
  return found;
}

/**
 * CPU time used so far (ms, user + system) by a target's main process, and by everything else of
 * the target: its other processes and every live descendant (stdio children, upstream servers).
 * Resolution is one clock tick (10 ms): sum it over many calls.
 */
export function targetCpuMs(target: RunningTarget): { main: number; rest: number } {
  const all = allProcs();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const counted = new Set<number>();
  let main = 0;
  let rest = 0;
  for (const proc of target.processes) {
    for (const info of [byPid.get(proc.pid), ...descendants(proc.pid, all)]) {
      if (!info || counted.has(info.pid)) continue;
      counted.add(info.pid);
      const ms = (info.ticks * 1000) / TICKS_PER_SECOND;
      if (info.pid === target.main.pid) main += ms;
      else rest += ms;
    }
  }
  return { main, rest };
}

function stillSame(info: ProcInfo): boolean {
  const now = readProc(info.pid);
  return now !== undefined && now.start === info.start && now.state !== 'Z';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM (SIGKILL after a grace period) to the process, then to any descendant it left behind. */
export async function stopProcess(proc: StartedProcess): Promise<void> {
  if (!live.has(proc)) return;
  const family = descendants(proc.pid);
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    signal(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(proc.pid, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  // Children a gateway did not stop (or could not, being killed): end them by PID.
  const deadline = Date.now() + STOP_GRACE_MS;
  let left = family.filter(stillSame);
  for (const info of left) signal(info.pid, 'SIGTERM');
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(stillSame);
  }
  for (const info of left) signal(info.pid, 'SIGKILL');
  live.delete(proc);
}

/** Stops every process still running (SIGINT, errors). */
export async function stopEverything(): Promise<void> {
  for (const proc of [...live].reverse()) await stopProcess(proc);
}

/** Synchronous last resort on exit: SIGKILL whatever is still live, descendants first. */
export function killEverythingNow(): void {
  for (const proc of live) {
    for (const info of descendants(proc.pid)) signal(info.pid, 'SIGKILL');
    signal(proc.pid, 'SIGKILL');
  }
  live.clear();
}
