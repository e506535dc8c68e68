/**
 * Every conversation the gateway holds with an upstream on a client's behalf — 2025 client sessions
 * and the upstream sessions kept for 2026-07-28 clients alike — under one set of caps and one idle
 * sweep. At a cap the least recently used idle session (nothing in flight, no open stream) is closed
 * to admit the new one; only when every session is busy is the caller refused. Clients that never
 * send DELETE (the Inspector CLI, a killed mcp-remote, test suites) therefore never lock a key out.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../core/errors.js';
import type { Principal, PrincipalKind } from '../core/principal.js';
import type { Logger } from '../log/logger.js';

/** What an operator sees of one session (`portcullis sessions list`, GET /admin/sessions). */
export interface SessionDetails {
  /** The public handle of the session: not its Mcp-Session-Id, which stays with its client. */
  readonly ref: string;
  readonly kind: 'session' | 'stateless';
  readonly principal: { readonly id: string; readonly name: string; readonly kind: PrincipalKind };
  readonly upstream: string;
  /** The revision the client speaks. */
  readonly revision: string | undefined;
  readonly openedAt: string;
  readonly ageMs: number;
  readonly idleMs: number;
  readonly inFlight: number;
  readonly openStreams: number;
  /** The stdio child serving this session, when it has one. */
  readonly pid?: number;
}

/** What a session tells the registry about itself. */
export interface Registrable {
  /** How the session's owner finds it: the Mcp-Session-Id, or principal and upstream. */
  readonly id: string;
  readonly principal: Principal;
  readonly upstream: string;
  /** Epoch ms of the last request, answer or stream event. */
  readonly lastActivity: number;
  /** Calls in flight (or parked awaiting input) and open streams. */
  activity(): { readonly inFlight: number; readonly openStreams: number };
  readonly kind: SessionDetails['kind'];
  readonly revision: string | undefined;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export type CloseReason = 'deleted' | 'idle' | 'evicted' | 'admin' | 'shutdown';

export interface RegistryOptions {
  readonly perPrincipal: number;
  readonly total: number;
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** Told of every session the gateway ends on its own (idle, evicted, admin): for the audit trail. */
  readonly onClose?: (details: SessionDetails, reason: CloseReason, actor?: Principal) => void;
}

interface Entry<S extends Registrable> {
  readonly session: S;
  readonly ref: string;
  readonly openedAt: number;
}

export class SessionRegistry<S extends Registrable = Registrable> {
  private readonly entries = new Map<string, Entry<S>>();
  /** Sessions still opening count against the caps already (an upstream's start takes a while). */
  private readonly opening = new Map<string, number>();
  private openingTotal = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: RegistryOptions) {
    const every = Math.min(60_000, Math.max(250, options.idleTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Opens a session for `principal` with `open`, once there is room under both caps: an idle session
   * is evicted to make it, else the caller is refused (429 at its own cap, 503 at the gateway's).
   */
  async admit<T extends S>(principal: Principal, open: () => Promise<T>): Promise<T> {
    const owner = principal.id;
    // Everything up to the reservation is synchronous, so two callers at once never share one place.
    const victims: Entry<S>[] = [];
    // With `auth: { none: true }` every caller is the one anonymous principal: a cap per principal
    // would be a second, smaller total cap that one client's leftovers fill for everyone.
    const capped = principal.kind !== 'anonymous';
    if (capped && this.countFor(owner) + (this.opening.get(owner) ?? 0) >= this.options.perPrincipal) {
      victims.push(this.detachIdlest((s) => s.principal.id === owner) ?? throwError(this.callerFull()));
    }
    if (this.entries.size + this.openingTotal >= this.options.total) {
      victims.push(this.detachIdlest(() => true) ?? throwError(this.gatewayFull()));
    }
    this.opening.set(owner, (this.opening.get(owner) ?? 0) + 1);
    this.openingTotal++;
    try {
      await Promise.all(victims.map((victim) => this.finish(victim, 'evicted')));
      const session = await open();
      this.entries.set(session.id, { session, ref: randomBytes(6).toString('hex'), openedAt: Date.now() });
      return session;
    } finally {
      this.openingTotal--;
      const left = (this.opening.get(owner) ?? 1) - 1;
      if (left > 0) this.opening.set(owner, left);
      else this.opening.delete(owner);
    }
  }

  /** The session with this id, only if it belongs to `principalId` (else it does not exist for them). */
  get(id: string, principalId: string): S | undefined {
    const entry = this.entries.get(id);
    return entry && entry.session.principal.id === principalId ? entry.session : undefined;
  }

  countFor(principalId: string): number {
    let n = 0;
    for (const { session } of this.entries.values()) if (session.principal.id === principalId) n++;
    return n;
  }

  list(): SessionDetails[] {
    const now = Date.now();
    return [...this.entries.values()].map((entry) => details(entry, now));
  }

  /** Ends the session with public handle `ref` (an operator's request); false when there is none. */
  async closeByRef(ref: string, actor: Principal): Promise<boolean> {
    const entry = [...this.entries.values()].find((e) => e.ref === ref);
    if (!entry) return false;
    await this.end(entry, 'admin', actor);
    return true;
  }

  /** Ends a session its client ended (DELETE) or that failed. */
  async close(session: S): Promise<void> {
    const entry = this.entries.get(session.id);
    if (entry?.session === session) await this.end(entry, 'deleted');
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.entries.values()].map((e) => this.end(e, 'shutdown')));
  }

  private async end(entry: Entry<S>, reason: CloseReason, actor?: Principal): Promise<void> {
    if (this.entries.get(entry.session.id) !== entry) return;
    this.entries.delete(entry.session.id);
    await this.finish(entry, reason, actor);
  }

  /** Closes a session already taken out of the registry, telling the audit trail why. */
  private async finish(entry: Entry<S>, reason: CloseReason, actor?: Principal): Promise<void> {
    if (reason !== 'deleted' && reason !== 'shutdown') {
      const info = details(entry, Date.now());
      this.options.logger.info(
        { session: entry.ref, upstream: info.upstream, principal: info.principal.id, reason },
        'closing session',
      );
      this.options.onClose?.(info, reason, actor);
    }
    await entry.session.close();
  }

  /** Takes the least recently used idle session that `eligible` accepts out of the registry. */
  private detachIdlest(eligible: (session: S) => boolean): Entry<S> | undefined {
    let oldest: Entry<S> | undefined;
    for (const entry of this.entries.values()) {
      const { session } = entry;
      if (!eligible(session) || !isIdle(session)) continue;
      if (!oldest || session.lastActivity < oldest.session.lastActivity) oldest = entry;
    }
    if (oldest) this.entries.delete(oldest.session.id);
    return oldest;
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      const { session } = entry;
      if (isIdle(session) && now - session.lastActivity > this.options.idleTimeoutMs)
        void this.end(entry, 'idle');
    }
  }

  private callerFull(): GatewayError {
    const { perPrincipal } = this.options;
    return new GatewayError(
      'too_many_sessions',
      `this caller already has ${perPrincipal} sessions and every one is busy (a call in flight or a stream open) — end one (DELETE, or portcullis sessions close) or wait for one to finish`,
      { retryAfter: 5, data: { limit: perPrincipal } },
    );
  }

  private gatewayFull(): GatewayError {
    return new GatewayError(
      'gateway_full',
      `the gateway holds its limit of ${this.options.total} sessions and every one is busy — try again shortly`,
      { retryAfter: 30 },
    );
  }
}

function throwError(error: Error): never {
  throw error;
}

function isIdle(session: Registrable): boolean {
  const { inFlight, openStreams } = session.activity();
  return inFlight === 0 && openStreams === 0;
}

function details<S extends Registrable>(entry: Entry<S>, now: number): SessionDetails {
  const { session } = entry;
  const { inFlight, openStreams } = session.activity();
  return {
    ref: entry.ref,
    kind: session.kind,
    principal: { id: session.principal.id, name: session.principal.name, kind: session.principal.kind },
    upstream: session.upstream,
    revision: session.revision,
    openedAt: new Date(entry.openedAt).toISOString(),
    ageMs: now - entry.openedAt,
    idleMs: now - session.lastActivity,
    inFlight,
    openStreams,
    ...(session.pid === undefined ? {} : { pid: session.pid }),
  };
}
