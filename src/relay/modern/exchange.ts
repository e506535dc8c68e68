/**
 * The HTTP answer to one 2026-07-28 request: plain JSON, or an SSE stream when the request asked
 * for progress or log messages (which must travel on that request's own response). Closing it
 * before the answer is the client's cancellation.
 */
import type { ServerResponse } from 'node:http';
import type { JsonRpcMessage, JsonRpcResponse } from '../../core/jsonrpc.js';
import { SseStream } from '../sse.js';

export class ModernExchange {
  private readonly stream: SseStream | undefined;
  private done = false;
  onclose: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    readonly requestId: string,
    streaming: boolean,
    /** Shown each answer as it is sent (the request's audit trail). */
    private readonly observe?: (response: JsonRpcResponse) => void,
  ) {
    this.stream = streaming ? new SseStream(res, { headers: {}, flush: false }) : undefined;
    res.on('close', () => {
      if (!this.done) this.onclose();
      this.done = true;
    });
  }

  get open(): boolean {
    return !this.done;
  }

  /** A notification tied to this request (progress, log); dropped on a plain JSON answer. */
  notify(message: JsonRpcMessage): void {
    if (!this.done) this.stream?.send(message);
  }

  answer(response: JsonRpcResponse, status = 200): void {
    if (this.done) return;
    this.done = true;
    this.observe?.(response);
    if (this.stream) {
      this.stream.sendAndEnd(response);
      return;
    }
    const body = JSON.stringify(response);
    this.res
      .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      .end(body);
  }
}
