/**
 * `portcullis sessions list|close`: the sessions a running gateway holds, through its admin API
 * (GET /admin/sessions, DELETE /admin/sessions/<ref>) on its own port. The caller authenticates as
 * an API key (--key, or PORTCULLIS_ADMIN_KEY) or a Basic user (--user, password in
 * PORTCULLIS_PASSWORD) holding the admin scope.
 */
import type { Command } from 'commander';
import { hostForUrl } from '../gateway/listen.js';
import type { SessionDetails } from '../relay/session-registry.js';
import type { WarmPool } from '../upstream/warm-pool.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { printTable } from './table.js';

interface AdminOptions {
  readonly config: string;
  readonly url?: string;
  readonly key?: string;
  readonly user?: string;
}

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

function credentials(options: AdminOptions): string {
  const key = options.key ?? process.env.PORTCULLIS_ADMIN_KEY;
  if (key) return `Bearer ${key}`;
  if (options.user) {
    const password = process.env.PORTCULLIS_PASSWORD;
    if (!password) fail('--user needs its password in the PORTCULLIS_PASSWORD environment variable');
    return `Basic ${Buffer.from(`${options.user}:${password}`).toString('base64')}`;
  }
  return fail(
    'the admin API needs an administrator — pass --key (or set PORTCULLIS_ADMIN_KEY) with a key holding the admin scope, or --user',
  );
}

/** The running gateway's base URL: --url, else its publicUrl, else where the config says it listens. */
function baseUrl(options: AdminOptions): string {
  if (options.url) return options.url.replace(/\/$/, '');
  const { config } = loadOrExit(options.config);
  if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
  const scheme = config.listen.tls ? 'https' : 'http';
  return `${scheme}://${hostForUrl(config.listen.host)}:${config.listen.port}`;
}

async function admin(options: AdminOptions, method: string, path: string): Promise<Record<string, unknown>> {
  const url = `${baseUrl(options)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { authorization: credentials(options) } });
  } catch (err) {
    return fail(
      `cannot reach the gateway at ${url} (${(err as Error).message}) — is it running? Pass --url if it listens elsewhere`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = body.error as { message?: string } | undefined;
    fail(`the gateway refused (${res.status}): ${error?.message ?? res.statusText}`);
  }
  return body;
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${Math.round(m / 60)}h`;
}

type WarmPoolReport = Awaited<ReturnType<WarmPool['report']>>;

const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

function printSessions(list: readonly (SessionDetails & { rssBytes?: number })[]): void {
  printTable([
    ['REF', 'KIND', 'PRINCIPAL', 'UPSTREAM', 'REVISION', 'AGE', 'IDLE', 'CALLS', 'STREAMS', 'PID', 'RSS'],
    ...list.map((s) => [
      s.ref,
      s.kind,
      s.principal.name,
      s.upstream,
      s.revision ?? '-',
      age(s.ageMs),
      age(s.idleMs),
      String(s.inFlight),
      String(s.openStreams),
      s.pid === undefined ? '-' : String(s.pid),
      s.rssBytes === undefined ? '-' : mib(s.rssBytes),
    ]),
  ]);
}

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description("see and end a running gateway's sessions");
  const common = (command: Command) =>
    command
      .option('--url <url>', 'the gateway (default: its publicUrl, or listen.host:listen.port)')
      .option('--key <key>', 'an API key with the admin scope (or PORTCULLIS_ADMIN_KEY)')
      .option('--user <name>', 'a Basic user with the admin scope (password in PORTCULLIS_PASSWORD)')
      .option(...CONFIG_OPTION);

  common(sessions.command('list').description('list open sessions'))
    .option('--json', 'print the sessions as JSON')
    .action(async (options: AdminOptions & { json?: boolean }) => {
      const answer = await admin(options, 'GET', '/admin/sessions');
      const list = answer.sessions as (SessionDetails & { rssBytes?: number })[];
      const pools = (answer.warmPools ?? []) as WarmPoolReport[];
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) process.stdout.write('no open sessions\n');
      else printSessions(list);
      for (const pool of pools) {
        process.stdout.write(
          `warm pool ${pool.upstream}: ${pool.ready} of ${pool.size} ready, ${pool.starting} starting, ` +
            `${mib(pool.rssBytes)} resident (PIDs ${pool.pids.join(' ') || 'none'}); ` +
            `${pool.handedOut} handed to sessions, ${pool.missed} found it empty\n`,
        );
      }
    });

  common(sessions.command('close').description('end a session (its client must initialize again)'))
    .argument('<ref>', 'the session as sessions list shows it (REF)')
    .action(async (ref: string, options: AdminOptions) => {
      if (!/^[0-9a-f]{12}$/.test(ref)) fail(`"${ref}" is not a session REF — see: portcullis sessions list`);
      await admin(options, 'DELETE', `/admin/sessions/${ref}`);
      process.stdout.write(`closed ${ref}\n`);
    });
}
