/**
 * The calls of one bridged upstream session: running (awaiting the upstream), parked (awaiting the
 * client's retry with `inputResponses`), by progress token. A call keeps its identity across the
 * rounds of a multi-round-trip request, while its client id and exchange change with each retry.
 */
import { randomBytes } from 'node:crypto';
import type { RequestId } from '../../core/errors.js';
import type { JsonRpcResponse } from '../../core/jsonrpc.js';
import type { ModernEnvelope } from '../../core/revisions.js';
import type { UpstreamCall } from '../upstream-link.js';
import type { PendingInput } from './bridge-translate.js';
import type { ModernExchange } from './exchange.js';

export class BridgedCall {
  readonly id = randomBytes(12).toString('base64url');
  state: 'running' | 'parked' | 'done' = 'running';
  readonly inputs = new Map<string, PendingInput>();
  /** The upstream answered while the call was parked: sent once the client retries. */
  finalResponse: JsonRpcResponse | undefined;
  parkTimer: NodeJS.Timeout | undefined;
  parkScheduled = false;

  constructor(
    readonly method: string,
    readonly upstream: UpstreamCall,
    public clientId: RequestId,
    public exchange: ModernExchange,
    public envelope: ModernEnvelope,
    readonly progressKey: string | undefined,
  ) {}
}

export class BridgeCalls {
  private readonly running = new Set<BridgedCall>();
  private readonly parkedCalls = new Map<string, BridgedCall>();
  private readonly byProgress = new Map<string, BridgedCall>();

  get size(): number {
    return this.running.size + this.parkedCalls.size;
  }

  run(call: BridgedCall): void {
    call.state = 'running';
    this.parkedCalls.delete(call.id);
    clearTimeout(call.parkTimer);
    this.running.add(call);
    if (call.progressKey) this.byProgress.set(call.progressKey, call);
  }

  park(call: BridgedCall, timer: NodeJS.Timeout): void {
    call.state = 'parked';
    this.running.delete(call);
    this.parkedCalls.set(call.id, call);
    call.parkTimer = timer;
  }

  /** The parked call a requestState names; undefined when it was resumed already or has ended. */
  parked(id: string): BridgedCall | undefined {
    return this.parkedCalls.get(id);
  }

  done(call: BridgedCall): void {
    call.state = 'done';
    this.running.delete(call);
    this.parkedCalls.delete(call.id);
    clearTimeout(call.parkTimer);
    if (call.progressKey && this.byProgress.get(call.progressKey) === call)
      this.byProgress.delete(call.progressKey);
  }

  byProgressKey(key: string | undefined): BridgedCall | undefined {
    return key === undefined ? undefined : this.byProgress.get(key);
  }

  /** The newest running call that matches: a stdio upstream never says which call a message is for. */
  newestRunning(matches: (call: BridgedCall) => boolean): BridgedCall | undefined {
    return [...this.running].reverse().find(matches);
  }

  runningWithClientId(key: (id: RequestId) => boolean): BridgedCall[] {
    return [...this.running].filter((call) => key(call.clientId));
  }

  all(): BridgedCall[] {
    return [...this.running, ...this.parkedCalls.values()];
  }
}
