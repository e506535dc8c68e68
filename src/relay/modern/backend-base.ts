/** What every ModernBackend shares: its owner, its upstream link, its policy, and its activity. */

import type { JsonRpcNotification, JsonRpcRequest } from '../../core/jsonrpc.js';
import type { Principal } from '../../core/principal.js';
import { MODERN_REVISIONS } from '../../core/revisions.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { UpstreamLink } from '../upstream-link.js';

export abstract class BackendBase {
  readonly kind = 'stateless' as const;
  readonly revision: string = MODERN_REVISIONS[0];
  private lastTouched = Date.now();

  constructor(
    readonly principal: Principal,
    readonly gatekeeper: Gatekeeper,
    protected readonly link: UpstreamLink,
  ) {
    link.onServerMessage = (message) => this.fromUpstream(message);
  }

  get upstream(): string {
    return this.link.name;
  }

  /** Registry key: one backend per principal and upstream. */
  get id(): string {
    return backendKey(this.principal.id, this.upstream);
  }

  get lastActivity(): number {
    return this.lastTouched;
  }

  get pid(): number | undefined {
    return this.link.pid;
  }

  protected touch(): void {
    this.lastTouched = Date.now();
  }

  /** Calls running or parked awaiting input, and open listen streams. */
  abstract activity(): { readonly inFlight: number; readonly openStreams: number };

  protected abstract fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void;
}

/** The registry id of a principal's backend for one upstream. */
export function backendKey(principalId: string, upstream: string): string {
  return `${principalId}\0${upstream}`;
}
