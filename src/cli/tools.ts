/**
 * `portcullis tools list|diff|approve|reject`: the pinned tool definitions in the store the gateway
 * uses (policy.pinning). An approval pins the definition last seen; every running instance reads
 * pins from the store, so it takes effect at their next list or call. Approvals and rejections are
 * audited with the operating-system user who made them.
 */
import type { Command } from 'commander';
import { cliActor } from '../audit/admin-events.js';
import { AuditLog } from '../audit/audit-log.js';
import type { AuditEventInput, ToolReviewedEvent } from '../audit/events.js';
import { Redactor } from '../audit/redact.js';
import { describeDrift, type PinnedDefinition } from '../policy/pin-diff.js';
import type { PinKind, PinRecord, PinStore } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openStoreOrExit } from './open-store-or-exit.js';
import { printTable } from './table.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

interface ToolsOptions {
  readonly config: string;
  readonly upstream: string;
  readonly kind?: string;
}

const KINDS: Readonly<Record<string, PinKind>> = {
  tool: 'tool',
  prompt: 'prompt',
  template: 'resourceTemplate',
  resourceTemplate: 'resourceTemplate',
};

function kindOf(options: ToolsOptions): PinKind {
  const kind = KINDS[options.kind ?? 'tool'];
  if (!kind) fail(`--kind: "${options.kind}" is not a kind — use tool, prompt or template`);
  return kind;
}

async function withPins<T>(
  options: ToolsOptions,
  work: (pins: PinStore, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const { config, baseDir, secrets } = loadOrExit(options.config);
  if (!(options.upstream in config.upstreams))
    fail(
      `--upstream: no upstream '${options.upstream}' in this config — it has ${Object.keys(config.upstreams).join(', ')}`,
    );
  const { store } = await openStoreOrExit(config, baseDir);
  const audit = new AuditLog({
    redactor: new Redactor(secrets),
    ...(config.audit.store ? { store: store.audit } : {}),
  });
  try {
    return await work(store.pins, audit);
  } finally {
    await audit.close();
    await store.close();
  }
}

/** approved, changed (differs from its pin), new (never approved), or rejected. */
export function pinState(pin: PinRecord): string {
  if (pin.pinnedHash === pin.seenHash) return 'approved';
  if (pin.rejectedHash === pin.seenHash) return 'rejected';
  return pin.pinnedHash === null ? 'new' : 'changed';
}

function date(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

async function find(pins: PinStore, options: ToolsOptions, name: string): Promise<PinRecord> {
  const kind = kindOf(options);
  const pin = (await pins.list(options.upstream)).find((p) => p.kind === kind && p.name === name);
  if (!pin)
    fail(
      `upstream '${options.upstream}' has no ${kind} '${name}' the gateway has seen — see: portcullis tools list --upstream ${options.upstream}`,
    );
  return pin;
}

/** The audit event of an operator's review of the definition last seen. */
function reviewed(type: ToolReviewedEvent['type'], pin: PinRecord): AuditEventInput {
  return {
    type,
    actor: cliActor(),
    upstream: pin.upstream,
    kind: pin.kind,
    tool: pin.name,
    fingerprint: pin.seenHash,
  };
}

const parse = (json: string | null): PinnedDefinition => (json ? (JSON.parse(json) as PinnedDefinition) : {});

export function registerTools(program: Command): void {
  const tools = program
    .command('tools')
    .description('review the pinned definitions of an upstream’s tools (policy.pinning)');
  const common = (command: Command) =>
    command
      .requiredOption('--upstream <name>', 'the upstream, as named in the config')
      .option(...CONFIG_OPTION);

  common(tools.command('list').description('list the tools the gateway has seen and their pin state')).action(
    (options: ToolsOptions) =>
      withPins(options, async (pins) => {
        const list = await pins.list(options.upstream);
        if (list.length === 0) {
          process.stdout.write(`no tools of upstream '${options.upstream}' seen yet\n`);
          return;
        }
        printTable([
          ['TOOL', 'STATE', 'PINNED', 'LAST SEEN', 'FINGERPRINT'],
          ...list.map((pin) => [
            pin.name,
            pinState(pin),
            date(pin.pinnedAt),
            date(pin.seenAt),
            pin.seenHash.slice(0, 12),
          ]),
        ]);
      }),
  );

  common(tools.command('diff').description('what changed between the pinned and the last seen definition'))
    .argument('<name>', 'the tool, prompt or uriTemplate')
    .action((tool: string, options: ToolsOptions) =>
      withPins(options, async (pins) => {
        const pin = await find(pins, options, tool);
        const state = pinState(pin);
        if (state === 'approved') {
          process.stdout.write(`${tool}: the definition seen is the approved one\n`);
          return;
        }
        if (pin.pinnedDefinition === null) {
          process.stdout.write(`${tool}: never approved; its definition as last seen:\n`);
          process.stdout.write(`${JSON.stringify(parse(pin.seenDefinition), null, 2)}\n`);
          return;
        }
        const lines = describeDrift(parse(pin.pinnedDefinition), parse(pin.seenDefinition));
        process.stdout.write(`${tool} (${state}):\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
      }),
    );

  common(tools.command('approve').description('pin the definition last seen (of one tool, or --all)'))
    .argument('[name]', 'the tool, prompt or uriTemplate (or --all)')
    .option('--all', 'everything of the upstream whose definition is not approved, of every kind')
    .action((tool: string | undefined, options: ToolsOptions & { all?: boolean }) =>
      withPins(options, async (pins, audit) => {
        if (!tool && !options.all) fail('name a tool, or pass --all to approve every tool not approved yet');
        const chosen = tool
          ? [await find(pins, options, tool)]
          : (await pins.list(options.upstream)).filter((p) => pinState(p) !== 'approved');
        for (const pin of chosen) {
          await pins.approve(pin, Date.now());
          audit.record(reviewed('admin.tool_approved', pin));
          process.stdout.write(
            `approved ${pin.kind} ${pin.upstream}.${pin.name} (${pin.seenHash.slice(0, 12)})\n`,
          );
        }
        if (chosen.length === 0) process.stdout.write('everything seen is approved already\n');
      }),
    );

  common(
    tools.command('reject').description('keep refusing the definition last seen, without reporting it again'),
  )
    .argument('<name>', 'the tool, prompt or uriTemplate')
    .action((tool: string, options: ToolsOptions) =>
      withPins(options, async (pins, audit) => {
        const pin = await find(pins, options, tool);
        if (pinState(pin) === 'approved')
          fail(`${tool}: the definition seen is the approved one — nothing to reject`);
        await pins.reject(pin);
        audit.record(reviewed('admin.tool_rejected', pin));
        process.stdout.write(
          `rejected ${pin.kind} ${pin.upstream}.${pin.name} (${pin.seenHash.slice(0, 12)})\n`,
        );
      }),
    );
}
