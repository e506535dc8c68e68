/**
 * Open sessions by id, with the sweep that closes idle ones (and so ends their stdio children).
 * Serves 2025 client sessions and the upstream sessions the gateway holds for 2026 clients alike.
 */
import type { Logger } from '../log/logger.js';

export interface Closeable {
  readonly id: string;
  readonly principalId: string;
  readonly upstream: string;
  isIdle(now: number, timeoutMs: number): boolean;
  close(): Promise<void>;
}

export class SessionRegistry<Session extends Closeable> {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(250, idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** How many sessions `principalId` has open. */
  countFor(principalId: string): number {
    let n = 0;
    for (const session of this.sessions.values()) if (session.principalId === principalId) n++;
    return n;
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  /** The session with this id, only if it belongs to `principalId` (else it does not exist for them). */
  get(id: string, principalId: string): Session | undefined {
    const session = this.sessions.get(id);
    return session && session.principalId === principalId ? session : undefined;
  }

  async close(session: Session): Promise<void> {
    this.sessions.delete(session.id);
    await session.close();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => this.close(s)));
  }

  private sweep(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (!session.isIdle(now, this.idleTimeoutMs)) continue;
      this.logger.info(
        { session: session.id.slice(0, 8), upstream: session.upstream },
        'closing idle session',
      );
      void this.close(session);
    }
  }
}
