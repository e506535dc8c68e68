/** What every ModernBackend shares: its owner, its upstream link, its policy, and idleness. */

import type { JsonRpcNotification, JsonRpcRequest } from '../../core/jsonrpc.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { UpstreamLink } from '../upstream-link.js';

export abstract class BackendBase {
  readonly principalId: string;
  readonly gatekeeper: Gatekeeper;
  protected lastActivity = Date.now();

  constructor(
    principalId: string,
    gatekeeper: Gatekeeper,
    protected readonly link: UpstreamLink,
  ) {
    this.principalId = principalId;
    this.gatekeeper = gatekeeper;
    link.onServerMessage = (message) => this.fromUpstream(message);
  }

  get upstream(): string {
    return this.link.name;
  }

  /** Registry key: one backend per principal and upstream. */
  get id(): string {
    return `${this.principalId}\0${this.upstream}`;
  }

  isIdle(now: number, timeoutMs: number): boolean {
    return !this.busy() && now - this.lastActivity > timeoutMs;
  }

  protected touch(): void {
    this.lastActivity = Date.now();
  }

  /** Calls, parked calls or listen streams still open. */
  protected abstract busy(): boolean;

  protected abstract fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void;
}
