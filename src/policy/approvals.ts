/**
 * Human approval of risky calls (policy.approval). A call that an approval rule matches — after the
 * policy and the argument guards allowed it — runs only with an approval a person gave for exactly
 * it: the same caller, upstream, tool, argument hash and policy version (approval-binding.ts). An
 * approval is used once (an atomic conditional update in the store), and a request no one decides
 * within `ttl` expires, which is a denial. Every request, decision, expiry and use is audited.
 *
 * Decisions come from the approval page, the CLI (another process) or another instance, so a
 * waiting call reads the store again at least once a second; a decision made in this process wakes
 * it at once.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import {
  type ApprovalEvent,
  type AuditActor,
  type AuditEventInput,
  auditPrincipal,
} from '../audit/events.js';
import type { Redactor } from '../audit/redact.js';
import type { ApprovalConfig } from '../config/policy-schema.js';
import type { Params } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import type { Logger } from '../log/logger.js';
import type { ApprovalBinding, ApprovalRecord, ApprovalStore } from '../store/store.js';
import { argumentsHash } from './approval-binding.js';
import { type ApprovalRuleMatch, ApprovalRules } from './approval-rules.js';
import type { ApprovalWebhook } from './approval-webhook.js';
import type { ScopeSet } from './scopes.js';
import { APPROVE_SCOPE, upstreamScope } from './vocabulary.js';

/** Where the approval page of request `id` lives on the gateway. */
export const APPROVAL_PATH_PREFIX = '/approvals/';

/** How often a waiting call reads the store for a decision made elsewhere (CLI, another instance). */
const POLL_MS = 1000;
/** How often expired requests are marked and audited. */
const SWEEP_MS = 5000;
/** The arguments shown on the page and sent to the webhook are cut beyond this many characters. */
const MAX_SHOWN_CHARS = 16 * 1024;

/** Who decided: a person signed in on the approval page, or an operator at the CLI. */
export type Decider = { readonly principal: Principal } | { readonly actor: AuditActor };

export type DecideOutcome =
  | { readonly ok: true; readonly record: ApprovalRecord }
  | {
      readonly ok: false;
      readonly reason: 'not_found' | 'decided' | 'expired';
      readonly record?: ApprovalRecord;
    };

export interface ApprovalsOptions {
  readonly config: ApprovalConfig;
  readonly store: ApprovalStore;
  /** sha256 of the loaded policy (approval-binding.ts policyVersion). */
  readonly policyVersion: string;
  /** The gateway's public URL: approval links point there. */
  readonly publicUrl: URL;
  /** The audit's redaction, for the arguments a person is shown. */
  readonly redactor: Redactor;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly logger: Logger;
  readonly webhook?: ApprovalWebhook;
}

export class Approvals {
  readonly rules: ApprovalRules;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: ApprovalsOptions) {
    this.rules = new ApprovalRules(options.config.rules);
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get store(): ApprovalStore {
    return this.options.store;
  }

  get waitMs(): number {
    return this.options.config.wait;
  }

  get selfApproval(): boolean {
    return this.options.config.selfApproval;
  }

  /** What an approval for this call must be bound to. */
  bindingOf(principal: Principal, upstream: string, tool: string, args: Params | undefined): ApprovalBinding {
    return {
      principalId: principal.id,
      upstream,
      tool,
      argumentsHash: argumentsHash(args),
      policyVersion: this.options.policyVersion,
    };
  }

  /** The approval page of request `id`. */
  link(id: string): string {
    return new URL(`${APPROVAL_PATH_PREFIX}${id}`, this.options.publicUrl).href;
  }

  /** The open request (pending, or approved and unused) for `binding`, if there is one. */
  open(binding: ApprovalBinding): Promise<ApprovalRecord | undefined> {
    return this.options.store.findOpen(binding, Date.now());
  }

  /** A new pending request for this call: audited, and sent to the webhook. */
  async request(
    binding: ApprovalBinding,
    principal: Principal,
    args: Params | undefined,
    match: ApprovalRuleMatch,
    requestId: string,
  ): Promise<ApprovalRecord> {
    const now = Date.now();
    const record: ApprovalRecord = {
      ...binding,
      id: randomBytes(16).toString('base64url'),
      principalName: principal.name,
      argumentsShown: this.shown(args),
      status: 'pending',
      createdAt: now,
      expiresAt: now + this.options.config.ttl,
      decidedAt: null,
      decidedBy: null,
      usedAt: null,
    };
    await this.options.store.create(record);
    this.options.audit.record({
      ...approvalEvent('approval.requested', record, auditPrincipal(principal)),
      requestId,
      rule: match.reason,
      expiresAt: new Date(record.expiresAt).toISOString(),
    });
    this.options.webhook?.deliver(record, match, this.link(record.id));
    return record;
  }

  /** Uses approval `record` for this call: true exactly once (the store's conditional update). */
  async use(
    record: ApprovalRecord,
    binding: ApprovalBinding,
    principal: Principal,
    requestId: string,
  ): Promise<boolean> {
    if (!(await this.options.store.consume(record.id, binding, Date.now()))) return false;
    this.options.audit.record({
      ...approvalEvent('approval.used', record, auditPrincipal(principal)),
      requestId,
    });
    return true;
  }

  /** Decides a pending request, audits it and wakes the calls waiting for it. */
  async decide(id: string, decision: 'approved' | 'denied', decider: Decider): Promise<DecideOutcome> {
    const outcome = await decideApproval(
      this.options.store,
      this.options.audit,
      id,
      decision,
      decider,
      this.options.config.ttl,
    );
    if (outcome.ok) this.wake(id);
    return outcome;
  }

  /**
   * The request once it is decided or expired, or as it is at `deadline` (still pending); undefined
   * when it is gone. Reads the store at least every POLL_MS; a decision here wakes it sooner.
   */
  async awaitDecision(id: string, deadline: number): Promise<ApprovalRecord | undefined> {
    for (;;) {
      const record = await this.options.store.get(id);
      if (record?.status !== 'pending') return record;
      const now = Date.now();
      if (now >= record.expiresAt) {
        await this.sweep();
        const swept = await this.options.store.get(id);
        if (swept?.status !== 'pending') return swept;
      }
      if (now >= deadline) return record;
      await this.signal(id, Math.max(1, Math.min(POLL_MS, deadline - now, record.expiresAt - now)));
    }
  }

  /** Marks expired requests (an expiry is a denial), audits each once, and wakes their waiters. */
  async sweep(): Promise<void> {
    try {
      for (const record of await expireApprovals(this.options.store, this.options.audit))
        this.wake(record.id);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not mark expired approval requests');
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  /** Resolves when request `id` is decided here, or after `ms`. */
  private signal(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  private wake(id: string): void {
    for (const done of [...(this.waiters.get(id) ?? [])]) done();
  }

  /** The arguments as the audit would show them: redacted, size-capped, JSON. */
  private shown(args: Params | undefined): string {
    const json = JSON.stringify(this.options.redactor.value(args ?? {}), null, 2);
    return json.length > MAX_SHOWN_CHARS
      ? `${json.slice(0, MAX_SHOWN_CHARS)}\n… [${json.length} characters in all]`
      : json;
  }
}

/**
 * Marks every request past its expiry expired and audits each: once, whichever process (a gateway
 * instance, the CLI) gets there first, since the store's update returns only the rows it changed.
 */
export async function expireApprovals(
  store: ApprovalStore,
  audit: Pick<AuditLog, 'record'>,
): Promise<ApprovalRecord[]> {
  const expired = await store.expire(Date.now());
  for (const record of expired) audit.record(approvalEvent('approval.expired', record));
  return expired;
}

/**
 * Decides a pending request in `store` and audits it: the one decision path for the page (through
 * Approvals) and the CLI. An approval stays usable for `ttlMs` after the decision.
 */
export async function decideApproval(
  store: ApprovalStore,
  audit: Pick<AuditLog, 'record'>,
  id: string,
  decision: 'approved' | 'denied',
  decider: Decider,
  ttlMs: number,
): Promise<DecideOutcome> {
  const record = await store.get(id);
  if (!record) return { ok: false, reason: 'not_found' };
  const now = Date.now();
  if (record.status !== 'pending') return { ok: false, reason: 'decided', record };
  if (record.expiresAt <= now) return { ok: false, reason: 'expired', record };
  const by = 'principal' in decider ? decider.principal.id : `cli:${decider.actor.user ?? 'unknown'}`;
  const usableUntil = now + ttlMs;
  if (!(await store.decide(id, decision, by, now, usableUntil))) {
    const again = await store.get(id);
    return {
      ok: false,
      reason: again?.status === 'expired' ? 'expired' : 'decided',
      ...(again ? { record: again } : {}),
    };
  }
  const decided: ApprovalRecord = {
    ...record,
    status: decision,
    decidedAt: now,
    decidedBy: by,
    expiresAt: usableUntil,
  };
  audit.record({
    ...approvalEvent(decision === 'approved' ? 'approval.approved' : 'approval.denied', decided),
    ...('principal' in decider ? { approver: auditPrincipal(decider.principal) } : { actor: decider.actor }),
    ...(decision === 'approved' ? { expiresAt: new Date(usableUntil).toISOString() } : {}),
  });
  return { ok: true, record: decided };
}

/**
 * Why `approver` may not decide `record`, or undefined when they may: they need `tools:approve` (or
 * `<upstream>:approve`), and unless `selfApproval` is on they may not approve their own call.
 */
export function approverProblem(
  approver: Principal,
  scopes: ScopeSet,
  record: ApprovalRecord,
  selfApproval: boolean,
): string | undefined {
  const scope = approveScope(record.upstream);
  if (!scopes.holds(APPROVE_SCOPE) && !scopes.holds(scope))
    return `the user ${approver.name} does not hold the scope ${APPROVE_SCOPE} or ${scope}, which deciding approvals needs`;
  if (!selfApproval && approver.id === record.principalId)
    return 'this is your own call: someone else must approve it (policy.approval.selfApproval is off)';
  return undefined;
}

export function approveScope(upstream: string): string {
  return upstreamScope(upstream, 'approve');
}

function approvalEvent(
  type: ApprovalEvent['type'],
  record: ApprovalRecord,
  principal: ApprovalEvent['principal'] = { id: record.principalId, name: record.principalName },
): AuditEventInput & ApprovalEvent {
  return {
    type,
    approvalId: record.id,
    upstream: record.upstream,
    tool: record.tool,
    principal,
    argumentsHash: record.argumentsHash,
  } as AuditEventInput & ApprovalEvent;
}
