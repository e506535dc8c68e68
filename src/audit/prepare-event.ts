/**
 * An audit event as it is written: stamped with its time and redacted. Who acted (principal,
 * actor, the user name tried) has only secrets and credentials masked, so it stays readable; a
 * tool call's arguments and result are kept only for the tools the config opts in, redacted and
 * size-capped, and removed for every other tool before anything else sees the event.
 */
import { globToRegExp, matchesAny } from '../policy/glob.js';
import type { AuditEvent, AuditEventInput } from './events.js';
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
    const time = input.time ?? new Date(this.now()).toISOString();
    const raw = { ...input, time } as AuditEvent;
    if (raw.type === 'policy.decision') {
      const keep = raw.target.kind === 'tool' && this.logsArgumentsOf(raw.upstream, raw.target.name);
      const { arguments: args, result, principal, ...rest } = raw;
      const redacted = this.redactor.value(rest);
      return {
        ...redacted,
        // Who acted stays readable: only secrets and credentials are masked in it.
        principal: this.redactor.value(principal, 'credentials'),
        ...(keep && args !== undefined ? { arguments: this.payload(args) } : {}),
        ...(keep && result !== undefined ? { result: this.payload(result) } : {}),
      };
    }
    if (raw.type === 'auth.success' || raw.type === 'rate_limit.refused') {
      const { principal, ...rest } = raw;
      return {
        ...this.redactor.value(rest),
        ...(principal ? { principal: this.redactor.value(principal, 'credentials') } : {}),
      } as AuditEvent;
    }
    if (raw.type === 'auth.failure') {
      const { username, ...rest } = raw;
      return {
        ...this.redactor.value(rest),
        ...(username !== undefined ? { username: this.redactor.text(username, 'credentials') } : {}),
      };
    }
    if (raw.type.startsWith('approval.')) {
      // Who asked and who decided stay readable, as for every other event naming them.
      const { principal, approver, actor, ...rest } = raw as Extract<
        AuditEvent,
        { type: `approval.${string}` }
      >;
      return {
        ...this.redactor.value(rest),
        principal: this.redactor.value(principal, 'credentials'),
        ...(approver ? { approver: this.redactor.value(approver, 'credentials') } : {}),
        ...(actor ? { actor: this.redactor.value(actor, 'credentials') } : {}),
      } as AuditEvent;
    }
    if (
      raw.type === 'admin.key_created' ||
      raw.type === 'admin.key_revoked' ||
      raw.type === 'admin.consent_revoked'
    ) {
      const { actor, ...rest } = raw;
      return { ...this.redactor.value(rest), actor: this.redactor.value(actor, 'credentials') } as AuditEvent;
    }
    return this.redactor.value(raw);
  }

  /** Arguments or a result, redacted, within maxPayloadChars. */
  private payload(value: unknown): unknown {
    const redacted = this.redactor.value(value);
    const size = JSON.stringify(redacted)?.length ?? 0;
    return size > this.maxPayloadChars ? `[TRUNCATED: ${size} characters]` : redacted;
  }
}
