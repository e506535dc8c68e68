/**
 * gateway.start and gateway.stop in the audit trail. The stop is registered with the closer before
 * the channels (last opened, first closed), so it is written after they closed and the requests
 * they held settled: the trail of a run ends with its gateway.stop. A start that failed wrote no
 * gateway.start, so it writes no gateway.stop either.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { GatewayStartEvent } from '../audit/events.js';

export class Lifecycle {
  private startedAt: number | undefined;
  /** Why the gateway stops: the signal, or `close`. */
  reason = 'close';

  constructor(private readonly log: AuditLog) {}

  started(event: Omit<GatewayStartEvent, 'type' | 'time' | 'requestId'>): void {
    this.startedAt = Date.now();
    this.log.record({ type: 'gateway.start', ...event });
  }

  stopped(): void {
    if (this.startedAt === undefined) return;
    this.log.record({
      type: 'gateway.stop',
      reason: this.reason,
      uptimeMs: Date.now() - this.startedAt,
      auditDropped: this.log.dropped,
    });
  }
}
