/**
 * The requests an upstream sends to its client (sampling, elicitation, roots), under session-local
 * ids: the client answers by the local id and the upstream gets its own id back, so one client
 * session can hold channels to several upstreams without their ids colliding.
 */
import type { RequestId } from '../core/jsonrpc.js';

export class ServerRequestIds {
  private readonly upstreamIds = new Map<number, RequestId>();
  private next = 1;

  /** A fresh local id for the upstream's request `upstreamId`. */
  add(upstreamId: RequestId): number {
    const local = this.next++;
    this.upstreamIds.set(local, upstreamId);
    return local;
  }

  /** The upstream's id for the client's answer to `localId`, once; undefined when none is pending. */
  answered(localId: RequestId | null): RequestId | undefined {
    if (typeof localId !== 'number') return undefined;
    const upstreamId = this.upstreamIds.get(localId);
    this.upstreamIds.delete(localId);
    return upstreamId;
  }

  /** The local id of a request the upstream withdrew, forgotten; undefined when none is pending. */
  cancelled(upstreamId: unknown): number | undefined {
    for (const [local, remote] of this.upstreamIds) {
      if (remote !== upstreamId) continue;
      this.upstreamIds.delete(local);
      return local;
    }
    return undefined;
  }

  clear(): void {
    this.upstreamIds.clear();
  }
}
