/**
 * The HTTP answer to one 2026-07-28 request: plain JSON, or an SSE stream when the request asked
 * for progress or log messages (which must travel on that request's own response). Closing it
 * before the answer is the client's cancellation.
 *
 * The backend answers here, but the answer is held for the message path (`held()`), which filters
 * and records it before `send()` writes it; notifications stream at once.
 */
import type { ServerResponse } from 'node:http';
import type { JsonRpcMessage, JsonRpcResponse } from '../../core/jsonrpc.js';
import { CallAbandoned } from '../call-table.js';
import { SseStream } from '../sse.js';
import { httpStatusFor } from './results.js';

type Shape = (message: JsonRpcMessage) => JsonRpcMessage | undefined;

export class ModernExchange {
  private stream: SseStream | undefined;
  private done = false;
  private settle:
    | { readonly resolve: (r: JsonRpcResponse) => void; readonly reject: (e: unknown) => void }
    | undefined;
  private readonly answered: Promise<JsonRpcResponse>;
  /** A fork's notifications go out on its parent's response, shaped by the fork's `shape`. */
  private parent: { readonly exchange: ModernExchange; readonly shape: Shape } | undefined;
  onclose: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    readonly requestId: string,
    /** The request asked for progress or log messages: they open an SSE stream when the first comes. */
    private readonly streaming: boolean,
  ) {
    this.answered = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A caller that never awaits held() (a refusal before the backend ran) must not leave a rejection.
    this.answered.catch(() => {});
    res.on('close', () => {
      if (this.done) return;
      this.done = true;
      this.settle?.reject(new CallAbandoned());
      this.onclose();
    });
  }

  get open(): boolean {
    return !this.done;
  }

  /**
   * A notification tied to this request (progress, log); dropped on a plain JSON answer. The stream
   * opens with the first, so a refusal before it can still be a plain HTTP error (step-up's 403).
   */
  notify(message: JsonRpcMessage): void {
    if (this.parent) {
      const shaped = this.parent.shape(message);
      if (shaped) this.parent.exchange.notify(shaped);
      return;
    }
    if (this.done || !this.streaming) return;
    this.stream ??= new SseStream(this.res, { headers: {}, flush: false });
    this.stream.send(message);
  }

  /**
   * An exchange for one upstream's part of an aggregated request: its answer is its own (for the
   * aggregate to merge), its notifications travel on this request's stream through `shape`
   * (which may rewrite them, or keep one back by returning undefined).
   */
  fork(shape: Shape = (message) => message): ModernExchange {
    const fork = new ModernExchange(this.res, this.requestId, false);
    fork.parent = { exchange: this, shape };
    return fork;
  }

  /** The backend's answer, once; the call stages decide what of it is sent. */
  answer(response: JsonRpcResponse): void {
    this.settle?.resolve(response);
    this.settle = undefined;
  }

  /** The backend ended the call without an answer (cancelled, or its session closed). */
  abandon(): void {
    this.settle?.reject(new CallAbandoned());
    this.settle = undefined;
  }

  /** What the backend answered; rejects with CallAbandoned when it never will. */
  held(): Promise<JsonRpcResponse> {
    return this.answered;
  }

  /** Writes the answer, with the HTTP status the revision requires for it. */
  send(response: JsonRpcResponse): void {
    if (this.done) return;
    this.done = true;
    if (this.stream) {
      this.stream.sendAndEnd(response);
      return;
    }
    const body = JSON.stringify(response);
    this.res
      .writeHead(httpStatusFor('error' in response ? response.error : undefined), {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      .end(body);
  }

  /** Ends the response without an answer: the client cancelled, or the gateway is closing. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.stream) this.stream.end();
    else if (!this.res.headersSent) this.res.writeHead(204).end();
  }
}
