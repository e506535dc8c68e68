/**
 * The calls in flight on one channel, by the id the client gave them, with the progress token each
 * asked for: every relay path (2025 sessions, 2026 passthrough and bridge) answers, cancels and
 * routes progress through one of these, so a call is found the same way everywhere.
 */
import { GatewayError } from '../core/errors.js';
import { asRequestId, idKey, type RequestId } from '../core/jsonrpc.js';

/** A call ended without an answer (cancelled by the client, or its session closed): nothing is sent. */
export class CallAbandoned extends Error {
  constructor() {
    super('the call was cancelled or its session closed');
    this.name = 'CallAbandoned';
  }
}

interface Entry<T> {
  readonly clientId: RequestId;
  readonly progressKey: string | undefined;
  readonly value: T;
}

export class CallTable<T> {
  private readonly byId = new Map<string, Entry<T>>();
  private readonly byProgress = new Map<string, Entry<T>>();

  get size(): number {
    return this.byId.size;
  }

  /** Records a call; a client id already in flight is refused (JSON-RPC ids are unique per sender). */
  add(clientId: RequestId, progressToken: RequestId | undefined, value: T): void {
    const key = idKey(clientId);
    if (this.byId.has(key)) {
      throw new GatewayError(
        'duplicate_request_id',
        `request id ${JSON.stringify(clientId)} is already in flight in this session`,
      );
    }
    const progressKey = progressToken === undefined ? undefined : idKey(progressToken);
    const entry = { clientId, progressKey, value };
    this.byId.set(key, entry);
    if (progressKey) this.byProgress.set(progressKey, entry);
  }

  get(clientId: RequestId): T | undefined {
    return this.byId.get(idKey(clientId))?.value;
  }

  /**
   * Removes the call and returns it; undefined when it was already answered or cancelled. With
   * `only`, removes it only if it is still that call (the client may reuse an id once it is free).
   */
  take(clientId: RequestId, only?: T): T | undefined {
    const key = idKey(clientId);
    const entry = this.byId.get(key);
    if (!entry || (only !== undefined && entry.value !== only)) return undefined;
    this.byId.delete(key);
    if (entry.progressKey && this.byProgress.get(entry.progressKey) === entry)
      this.byProgress.delete(entry.progressKey);
    return entry.value;
  }

  /** The call that asked for progress under `token`. */
  byProgressToken(token: unknown): T | undefined {
    const id = asRequestId(token);
    return id === undefined ? undefined : this.byProgress.get(idKey(id))?.value;
  }

  /** The calls, oldest first. */
  values(): T[] {
    return [...this.byId.values()].map((e) => e.value);
  }

  clear(): T[] {
    const all = this.values();
    this.byId.clear();
    this.byProgress.clear();
    return all;
  }
}
