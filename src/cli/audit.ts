/**
 * `portcullis audit verify|tail|query|export`: the audit trail in the store the gateway writes
 * (same --config). Human-readable lines by default; `--json` (and `export`, always) writes JSON
 * lines `{"seq":…,"hash":…,"prevHash":…,"audit":{…event}}` — the event under the same `audit` key
 * as in the gateway's stdout lines, so one SIEM parser reads both.
 */
import type { Command } from 'commander';
import { describeEvent } from '../audit/audit-log.js';
import type { AuditRecord } from '../audit/chain.js';
import { AUDIT_EVENT_TYPES, type AuditEvent } from '../audit/events.js';
import { duration } from '../config/units.js';
import type { AuditQuery, AuditStore } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openExistingStoreOrExit } from './open-store-or-exit.js';

const FOLLOW_POLL_MS = 500;

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

async function withAudit<T>(configFile: string, work: (audit: AuditStore) => Promise<T>): Promise<T> {
  // `audit export | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const { config, baseDir } = loadOrExit(configFile);
  const { store } = await openExistingStoreOrExit(config, baseDir);
  try {
    return await work(store.audit);
  } finally {
    await store.close();
  }
}

/** `1h`, `30m`, `7d` ago, or an ISO date or time. */
function parseTime(value: string, flag: string, now: number): number {
  const ago = duration.safeParse(value);
  if (ago.success) return now - ago.data;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isFinite(at)) return at;
  fail(`${flag} "${value}" is not a duration or a time — write it like 1h, 30m, 7d or 2026-11-23T10:00:00Z`);
}

function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} "${value}" is not a positive whole number`);
  return n;
}

function checkType(type: string | undefined): void {
  if (type === undefined || type.includes('*') || (AUDIT_EVENT_TYPES as readonly string[]).includes(type))
    return;
  fail(
    `--type "${type}" is not an event type — use one of ${AUDIT_EVENT_TYPES.join(', ')} (or a pattern like auth.*)`,
  );
}

/** One record as a JSON line: chain position and the event, which re-serialized canonically gives `hash`. */
function jsonLine(record: AuditRecord): string {
  return `{"seq":${record.seq},"hash":"${record.hash}","prevHash":"${record.prevHash}","audit":${record.json}}\n`;
}

function humanLine(record: AuditRecord): string {
  let event: AuditEvent;
  try {
    event = JSON.parse(record.json) as AuditEvent;
  } catch {
    return `#${record.seq}  (unreadable record — run: npx portcullis audit verify)\n`;
  }
  return `#${record.seq}  ${describeEvent(event)}\n`;
}

/** Writes with backpressure, so a large export into a slow pipe does not pile up in memory. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}

interface FilterOptions {
  since?: string;
  until?: string;
  principal?: string;
  tool?: string;
  outcome?: string;
  type?: string;
}

function toQuery(options: FilterOptions, now: number): AuditQuery {
  if (options.outcome !== undefined && options.outcome !== 'allowed' && options.outcome !== 'denied')
    fail(`--outcome "${options.outcome}" must be allowed or denied`);
  checkType(options.type);
  return {
    ...(options.since !== undefined ? { since: parseTime(options.since, '--since', now) } : {}),
    ...(options.until !== undefined ? { until: parseTime(options.until, '--until', now) } : {}),
    ...(options.principal !== undefined ? { principal: options.principal } : {}),
    ...(options.tool !== undefined ? { tool: options.tool } : {}),
    ...(options.outcome !== undefined ? { outcome: options.outcome } : {}),
    ...(options.type !== undefined ? { type: options.type } : {}),
  };
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('read and verify the audit trail');

  audit
    .command('verify')
    .description('check the hash chain of the stored audit trail; exit 1 naming the first broken record')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const verdict = await withAudit(options.config, (a) => a.verifyChain());
      if (!verdict.ok) {
        process.stderr.write(
          `audit chain BROKEN at record #${verdict.seq}: ${verdict.reason}\n${verdict.count} record(s) before it are intact. Records from #${verdict.seq} on cannot be trusted.\n`,
        );
        process.exit(1);
      }
      process.stdout.write(
        verdict.head
          ? `audit chain intact: ${verdict.count} record(s), head #${verdict.head.seq} sha256 ${verdict.head.hash}\n`
          : 'audit chain intact: no records yet\n',
      );
    });

  audit
    .command('tail')
    .description('show the latest audit events (and, with --follow, new ones as they are stored)')
    .option('-n, --lines <n>', 'how many of the latest events', '20')
    .option('-f, --follow', 'keep printing events as they are stored, until interrupted')
    .option('--json', 'JSON lines instead of readable lines')
    .option(...CONFIG_OPTION)
    .action(async (options: { lines: string; follow?: boolean; json?: boolean; config: string }) => {
      const lines = parseCount(options.lines, '--lines');
      const format = options.json ? jsonLine : humanLine;
      await withAudit(options.config, async (a) => {
        const latest = await a.query({ limit: lines, newest: true });
        for (const record of latest) await write(format(record));
        if (!options.follow) return;
        let last = latest.at(-1)?.seq ?? (await a.query({ limit: 1, newest: true })).at(-1)?.seq ?? 0;
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        while (!stopped) {
          await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
          for (const record of await a.query({ afterSeq: last })) {
            await write(format(record));
            last = record.seq;
          }
        }
      });
    });

  audit
    .command('query')
    .description('search the audit trail')
    .option('--since <when>', 'from this long ago (1h, 30m, 7d) or this time (2026-11-23T10:00:00Z)')
    .option('--until <when>', 'up to (not including) this long ago or this time')
    .option('--principal <id>', 'principal id or name (api-key:key_…, basic:alice, alice); * matches any run')
    .option('--tool <name>', 'tool, prompt or resource, bare or as <upstream>.<name>; * matches any run')
    .option('--outcome <outcome>', 'allowed or denied (denied includes auth failures and limit refusals)')
    .option('--type <type>', `event type (${AUDIT_EVENT_TYPES.join(', ')}); * matches any run`)
    .option('--limit <n>', 'at most this many events, oldest first', '1000')
    .option('--json', 'JSON lines instead of readable lines')
    .option(...CONFIG_OPTION)
    .action(async (options: FilterOptions & { limit: string; json?: boolean; config: string }) => {
      const limit = parseCount(options.limit, '--limit');
      const query = toQuery(options, Date.now());
      const records = await withAudit(options.config, (a) => a.query({ ...query, limit }));
      const format = options.json ? jsonLine : humanLine;
      for (const record of records) await write(format(record));
      if (records.length === limit)
        process.stderr.write(`(showing the first ${limit} matches — narrow the query or raise --limit)\n`);
    });

  audit
    .command('export')
    .description(
      'write the audit trail as JSON lines (for a SIEM): npx portcullis audit export > audit.jsonl',
    )
    .option('--since <when>', 'from this long ago (1h, 7d) or this time')
    .option('--until <when>', 'up to (not including) this long ago or this time')
    .option(...CONFIG_OPTION)
    .action(async (options: { since?: string; until?: string; config: string }) => {
      const { since, until } = toQuery(options, Date.now());
      await withAudit(options.config, async (a) => {
        const range = {
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
        };
        for await (const record of a.iterate(range)) await write(jsonLine(record));
      });
    });
}
