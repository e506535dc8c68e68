/**
 * `portcullis approvals list|approve|deny`: the calls policy.approval holds, in the store the gateway
 * uses. A decision here reaches a waiting call within a second (it reads the store), on every
 * instance; it is audited with the operating-system user who made it. Expired requests are marked
 * (and audited) as the list is read.
 */
import type { Command } from 'commander';
import { cliActor } from '../audit/admin-events.js';
import { AuditLog } from '../audit/audit-log.js';
import { Redactor } from '../audit/redact.js';
import { decideApproval, expireApprovals } from '../policy/approvals.js';
import { openStore } from '../store/open.js';
import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { printTable } from './table.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

interface ApprovalsOptions {
  readonly config: string;
}

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired'];

async function withApprovals<T>(
  options: ApprovalsOptions,
  work: (store: ApprovalStore, audit: AuditLog, ttl: number) => Promise<T>,
): Promise<T> {
  const { config, baseDir, secrets } = loadOrExit(options.config);
  const { store } = await openStore(config, baseDir);
  const audit = new AuditLog({
    redactor: new Redactor(secrets),
    ...(config.audit.store ? { store: store.audit } : {}),
  });
  try {
    await expireApprovals(store.approvals, audit);
    return await work(store.approvals, audit, config.policy.approval.ttl);
  } finally {
    await audit.close();
    await store.close();
  }
}

/** pending, approved, used, denied or expired. */
export function approvalState(record: ApprovalRecord): string {
  return record.status === 'approved' && record.usedAt !== null ? 'used' : record.status;
}

function date(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function decide(decision: 'approved' | 'denied') {
  return (id: string, options: ApprovalsOptions) =>
    withApprovals(options, async (store, audit, ttl) => {
      const outcome = await decideApproval(store, audit, id, decision, { actor: cliActor() }, ttl);
      if (!outcome.ok) {
        if (outcome.reason === 'not_found')
          fail(`no approval request ${id} — see: portcullis approvals list`);
        fail(
          `approval request ${id} is ${outcome.record ? approvalState(outcome.record) : outcome.reason} already — nothing to decide`,
        );
      }
      const { record } = outcome;
      process.stdout.write(
        `${decision} ${record.upstream}.${record.tool} for ${record.principalName} (${id})${decision === 'approved' ? `; usable once until ${date(record.expiresAt)}` : ''}\n`,
      );
    });
}

export function registerApprovals(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('decide the calls policy.approval holds for a person');

  approvals
    .command('list')
    .description('list approval requests, newest first (pending ones unless --status or --all)')
    .option('--status <status>', `only requests in this state (${STATUSES.join(', ')})`)
    .option('--all', 'every request, whatever its state')
    .option(...CONFIG_OPTION)
    .action((options: ApprovalsOptions & { status?: string; all?: boolean }) =>
      withApprovals(options, async (store) => {
        const status = options.all ? undefined : (options.status ?? 'pending');
        if (status !== undefined && !(STATUSES as readonly string[]).includes(status))
          fail(`--status: "${status}" is not a state — use ${STATUSES.join(', ')}`);
        const list = await store.list(status as ApprovalStatus | undefined);
        if (list.length === 0) {
          process.stdout.write(`no ${status ?? ''} approval requests\n`.replace('  ', ' '));
          return;
        }
        printTable([
          ['ID', 'STATE', 'CALLER', 'TOOL', 'ARGUMENTS', 'REQUESTED', 'EXPIRES', 'DECIDED BY'],
          ...list.map((r) => [
            r.id,
            approvalState(r),
            r.principalName,
            `${r.upstream}.${r.tool}`,
            r.argumentsHash.slice(0, 12),
            date(r.createdAt),
            date(r.expiresAt),
            r.decidedBy ?? '-',
          ]),
        ]);
      }),
    );

  approvals
    .command('approve')
    .description('approve a pending request: the call it holds may then run once')
    .argument('<id>', 'the request id (approvals list)')
    .option(...CONFIG_OPTION)
    .action(decide('approved'));

  approvals
    .command('deny')
    .description('deny a pending request: the call it holds is refused')
    .argument('<id>', 'the request id (approvals list)')
    .option(...CONFIG_OPTION)
    .action(decide('denied'));
}
