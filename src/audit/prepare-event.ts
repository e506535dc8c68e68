/**
 * An audit event as it is written: stamped with its time and redacted. Who acted (principal,
 * actor, the user name tried) has only secrets and credentials masked, so it stays readable; a
 * tool call's arguments and result are kept only for the tools the config opts in, redacted and
 * size-capped, and removed for every other tool before anything else sees the event.
 */
import { globToRegExp, matchesAny } from '../policy/glob.js';
import type { AuditEvent, AuditEventInput, PolicyDecisionEvent } from './events.js';
import type { Redactor } from './redact.js';

export interface AuditEventPreparerOptions {
  readonly redactor: Redactor;
  /**
   * `<upstream>.<tool>` patterns (`*` matches any run) whose arguments and results are recorded;
   * for every other tool they are removed from the event before anything else sees it.
   */
  readonly logArguments?: readonly string[];
  /** Largest arguments or result kept, as JSON characters; bigger ones are replaced by a marker. */
  readonly maxPayloadChars?: number;
  readonly now: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The fields that name who acted, by event type: masked for secrets and credentials only. */
const WHO = {
  'policy.decision': ['principal'],
  'auth.success': ['principal'],
  'rate_limit.refused': ['principal'],
  'auth.failure': ['username'],
  'admin.key_created': ['actor'],
  'admin.key_revoked': ['actor'],
  'admin.consent_revoked': ['actor'],
  // Who asked and who decided.
  'approval.requested': ['principal', 'approver', 'actor'],
  'approval.approved': ['principal', 'approver', 'actor'],
  'approval.denied': ['principal', 'approver', 'actor'],
  'approval.expired': ['principal', 'approver', 'actor'],
  'approval.used': ['principal', 'approver', 'actor'],
} as const;
/** A decision's arguments and result: kept only for opted-in tools, and then capped (payload). */
const PAYLOAD: ReadonlySet<string> = new Set(['arguments', 'result']);

export class AuditEventPreparer {
  private readonly redactor: Redactor;
  private readonly argumentPatterns: readonly RegExp[];
  private readonly maxPayloadChars: number;
  private readonly now: () => number;

  constructor(options: AuditEventPreparerOptions) {
    this.redactor = options.redactor;
    this.argumentPatterns = (options.logArguments ?? []).map(globToRegExp);
    this.maxPayloadChars = options.maxPayloadChars ?? 8192;
    this.now = options.now;
  }

  /** Whether the config opts `<upstream>.<tool>` in to argument and result logging. */
  logsArgumentsOf(upstream: string, tool: string): boolean {
    return matchesAny(this.argumentPatterns, `${upstream}.${tool}`);
  }

  prepare(input: AuditEventInput): AuditEvent {
    const raw = { ...input, time: input.time ?? new Date(this.now()).toISOString() } as AuditEvent;
    if (raw.type === 'policy.decision') {
      const keep = raw.target.kind === 'tool' && this.logsArgumentsOf(raw.upstream, raw.target.name);
      const event: Mutable<PolicyDecisionEvent> = this.redactor.record(raw, WHO[raw.type], PAYLOAD);
      if (keep && raw.arguments !== undefined) event.arguments = this.payload(raw.arguments);
      if (keep && raw.result !== undefined) event.result = this.payload(raw.result);
      return event;
    }
    // Who acted stays readable: only secrets and credentials are masked in it.
    return this.redactor.record(raw, WHO[raw.type as keyof typeof WHO] ?? []);
  }

  /** Arguments or a result, redacted, within maxPayloadChars. */
  private payload(value: unknown): unknown {
    const redacted = this.redactor.value(value);
    const size = JSON.stringify(redacted)?.length ?? 0;
    return size > this.maxPayloadChars ? `[TRUNCATED: ${size} characters]` : redacted;
  }
}
