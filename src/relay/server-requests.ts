/**
 * The requests an upstream sends to its client (sampling, elicitation, roots), under session-local
 * ids: the client answers by the local id and the upstream gets its own id back, so one client
 * session can hold channels to several upstreams without their ids colliding. Requests the gateway
 * sends itself (an approval's URL elicitation) take ids from the same counter, so neither kind can
 * answer the other.
 */
import type { JsonRpcResponse, RequestId } from '../core/jsonrpc.js';

export class ServerRequestIds {
  private readonly upstreamIds = new Map<number, RequestId>();
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
    this.own.clear();
  }
}
