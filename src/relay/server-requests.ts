/**
 * The requests an upstream sends to its client (sampling, elicitation, roots), under session-local
 * ids: the client answers by the local id and the upstream gets its own id back, so one client
 * session can hold channels to several upstreams without their ids colliding. Requests the gateway
 * sends itself (an approval's URL elicitation) take ids from the same counter, so neither kind can
 * answer the other.
 */
import type { JsonRpcResponse, RequestId } from '../core/jsonrpc.js';

/** An upstream's request as it knows it: its own id, and `from`, the channel it came on. */
export interface UpstreamRequest<F> {
  readonly id: RequestId;
  readonly from: F;
}

export class ServerRequestIds<F = undefined> {
  private readonly upstreamIds = new Map<number, UpstreamRequest<F>>();
  private readonly own = new Map<number, (response: JsonRpcResponse) => void>();
  private next = 1;

  /** A fresh local id for a request the gateway itself sends; `onAnswer` gets the client's answer. */
  addOwn(onAnswer: (response: JsonRpcResponse) => void): number {
    const local = this.next++;
    this.own.set(local, onAnswer);
    return local;
  }

  /** Hands the client's answer to the gateway's own request `localId`, once; false when it is not one. */
  answeredOwn(response: JsonRpcResponse): boolean {
    if (typeof response.id !== 'number') return false;
    const onAnswer = this.own.get(response.id);
    if (!onAnswer) return false;
    this.own.delete(response.id);
    onAnswer(response);
    return true;
  }

  /** A fresh local id for the request `upstreamId` that came on channel `from`. */
  add(upstreamId: RequestId, from: F): number {
    const local = this.next++;
    this.upstreamIds.set(local, { id: upstreamId, from });
    return local;
  }

  /** The upstream request the client answered as `localId`, once; undefined when none is pending. */
  answered(localId: RequestId | null): UpstreamRequest<F> | undefined {
    if (typeof localId !== 'number') return undefined;
    const request = this.upstreamIds.get(localId);
    this.upstreamIds.delete(localId);
    return request;
  }

  /** The local id of a request channel `from` withdrew, forgotten; undefined when none is pending. */
  cancelled(from: F, upstreamId: unknown): number | undefined {
    for (const [local, remote] of this.upstreamIds) {
      if (remote.id !== upstreamId || remote.from !== from) continue;
      this.upstreamIds.delete(local);
      return local;
    }
    return undefined;
  }

  clear(): void {
    this.upstreamIds.clear();
    this.own.clear();
  }
}
