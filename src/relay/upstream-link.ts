/**
 * The gateway's side of one upstream MCP session. It owns the ids the upstream sees (so requests
 * from any client, and the gateway's own, never collide), answers every request exactly once
 * (response, timeout, or a clear error when the upstream dies), and after a crash reconnects with
 * backoff and replays the client's initialize so the session carries on.
 */
import { backoffDelay } from '../core/backoff.js';
import { GatewayError, RPC } from '../core/errors.js';
import {
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
} from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import type { Connector, SendOptions, UpstreamConnection } from '../upstream/connection.js';

export interface LinkOptions {
  readonly name: string;
  readonly connector: Connector;
  readonly timeoutMs: number;
  readonly restart: { readonly initialDelay: number; readonly maxDelay: number };
  readonly logger: Logger;
}

interface Pending {
  readonly method: string;
  readonly params: Params | undefined;
  readonly resolve: (response: JsonRpcResponse) => void;
  readonly reject: (err: GatewayError) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

export interface UpstreamCall {
  /** The id the upstream knows this request by. */
  readonly handle: number;
  readonly response: Promise<JsonRpcResponse>;
}

/** What a 2025 client session relays to: the upstream link itself, or an adapter to a 2026 upstream. */
export interface SessionUpstream {
  readonly name: string;
  /** The stdio child serving this link now, if it has one. */
  readonly pid: number | undefined;
  onServerMessage: (message: JsonRpcRequest | JsonRpcNotification) => void;
  /** `options.headers`: extra HTTP headers for an HTTP upstream (X-Request-Id). */
  request(message: JsonRpcRequest, options?: SendOptions): UpstreamCall;
  notify(message: JsonRpcNotification): void;
  respond(message: JsonRpcResponse): void;
  cancel(handle: number, reason: unknown): void;
  close(): Promise<void>;
}

/** A connection that stayed up this long resets the backoff: it was a crash, not a crash loop. */
const STABLE_AFTER_MS = 30_000;

type State = 'connecting' | 'ready' | 'restarting' | 'closed';

export class UpstreamLink implements SessionUpstream {
  /** Requests and notifications the upstream sends toward the client. */
  onServerMessage: (message: JsonRpcRequest | JsonRpcNotification) => void = () => {};

  private state: State = 'connecting';
  private connection: UpstreamConnection | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The client's initialize params, replayed to a restarted upstream. */
  private initializeParams: Params | undefined;
  private attempt = 0;
  private upSince = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;

  constructor(private readonly options: LinkOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.connection?.pid;
  }

  /** Opens the first connection; rejects with a clear error when the upstream cannot start. */
  async start(): Promise<void> {
    try {
      this.attach(await this.options.connector());
    } catch (err) {
      this.state = 'closed';
      throw unavailable(this.name, `could not be reached: ${(err as Error).message}`);
    }
    this.state = 'ready';
  }

  /**
   * Sends a request; `untimed` for requests that last as long as the client wants (a listen
   * stream); `headers` for HTTP headers derived from this request's body.
   */
  request(message: JsonRpcRequest, options: { untimed?: boolean } & SendOptions = {}): UpstreamCall {
    if (this.state !== 'ready' || !this.connection) throw this.notReady();
    return this.call(this.connection, message, options.untimed === true, options);
  }

  /** The client gave up on a request: tell the upstream, and forget its answer. */
  cancel(handle: number, reason: unknown): void {
    if (!this.settle(handle)) return;
    this.notify({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: reason === undefined ? { requestId: handle } : { requestId: handle, reason },
    });
  }

  notify(message: JsonRpcNotification): void {
    this.forward(message);
  }

  /** The client's answer to a request the upstream sent (its id is already the upstream's). */
  respond(message: JsonRpcResponse): void {
    this.forward(message);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    this.failAll(unavailable(this.name, 'was disconnected because the session ended'));
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close();
  }

  private forward(message: JsonRpcMessage): void {
    if (this.state !== 'ready' || !this.connection) return;
    this.connection.send(message).catch((err: Error) => {
      this.options.logger.warn(
        { upstream: this.name, err: err.message },
        'could not forward a message upstream',
      );
    });
  }

  private attach(connection: UpstreamConnection): void {
    this.connection = connection;
    this.upSince = Date.now();
    connection.onmessage = (message) => this.receive(message);
    connection.onclose = (reason) => this.lost(connection, reason);
  }

  private receive(message: JsonRpcMessage): void {
    if (!isResponse(message)) {
      this.onServerMessage(message);
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.settle(message.id);
    if (!pending) return; // late answer to a cancelled or timed-out request
    if (pending.method === 'initialize' && 'result' in message) {
      this.initializeParams = pending.params;
      const version = message.result.protocolVersion;
      if (typeof version === 'string') this.connection?.setProtocolVersion(version);
    }
    pending.resolve(message);
  }

  private call(
    connection: UpstreamConnection,
    message: JsonRpcRequest,
    untimed = false,
    options: SendOptions = {},
  ): UpstreamCall {
    const handle = this.nextId++;
    const response = new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = untimed ? undefined : setTimeout(() => this.timeOut(handle), this.options.timeoutMs);
      this.pending.set(handle, { method: message.method, params: message.params, resolve, reject, timer });
    });
    connection.send({ ...message, id: handle }, options).catch((err: Error) => {
      this.settle(handle)?.reject(unavailable(this.name, `did not take the request: ${err.message}`));
    });
    return { handle, response };
  }

  private settle(handle: number): Pending | undefined {
    const pending = this.pending.get(handle);
    if (!pending) return undefined;
    this.pending.delete(handle);
    clearTimeout(pending.timer);
    return pending;
  }

  private timeOut(handle: number): void {
    const pending = this.pending.get(handle);
    if (!pending) return;
    this.cancel(handle, 'timed out in the gateway');
    pending.reject(
      new GatewayError(
        'upstream_timeout',
        `upstream '${this.name}' did not answer ${pending.method} within ${this.options.timeoutMs} ms`,
        {
          rpcCode: RPC.upstreamTimeout,
        },
      ),
    );
  }

  private failAll(err: GatewayError): void {
    for (const handle of [...this.pending.keys()]) this.settle(handle)?.reject(err);
  }

  private lost(connection: UpstreamConnection, reason: Error): void {
    if (this.connection !== connection || this.state === 'closed') return;
    this.connection = undefined;
    this.state = 'restarting';
    this.failAll(
      unavailable(
        this.name,
        `stopped before answering (${reason.message}); the gateway is restarting it — retry the request`,
      ),
    );
    if (Date.now() - this.upSince > STABLE_AFTER_MS) this.attempt = 0;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer !== undefined || this.state === 'closed') return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, this.options.restart);
    this.retryAt = Date.now() + delay;
    this.options.logger.warn(
      { upstream: this.name, delayMs: delay, attempt: this.attempt },
      'restarting upstream',
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    let connection: UpstreamConnection | undefined;
    try {
      connection = await this.options.connector();
      if (this.state === 'closed') {
        await connection.close();
        return;
      }
      this.attach(connection);
      if (this.initializeParams) await this.replayInitialize(connection, this.initializeParams);
      this.state = 'ready';
      this.options.logger.info({ upstream: this.name }, 'upstream restarted');
    } catch (err) {
      this.options.logger.warn(
        { upstream: this.name, err: (err as Error).message },
        'upstream restart failed',
      );
      if (this.state === 'closed') return;
      this.state = 'restarting';
      if (connection && this.connection === connection) {
        this.connection = undefined;
        await connection.close().catch(() => {});
      }
      this.scheduleReconnect();
    }
  }

  /** A restarted server knows nothing of the session: initialize it as the client once did. */
  private async replayInitialize(connection: UpstreamConnection, params: Params): Promise<void> {
    const { response } = this.call(connection, { jsonrpc: '2.0', id: 0, method: 'initialize', params });
    const answer = await response;
    if (!('result' in answer)) throw new Error(`initialize was refused: ${answer.error.message}`);
    await connection.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  private notReady(): GatewayError {
    if (this.state === 'restarting') {
      const wait = Math.max(0, this.retryAt - Date.now());
      return unavailable(
        this.name,
        `is restarting after it stopped — retry in ${Math.ceil(wait / 1000) || 1} s`,
      );
    }
    return unavailable(this.name, 'is not connected');
  }
}

function unavailable(name: string, what: string): GatewayError {
  return new GatewayError('upstream_unavailable', `upstream '${name}' ${what}`, {
    rpcCode: RPC.upstreamUnavailable,
  });
}
