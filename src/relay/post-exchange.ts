/**
 * The answer channel of one POST of a 2025 session: an SSE stream that opens with its first message
 * (so a lone request refused before anything was sent can still be answered as a plain HTTP
 * error) and ends once every request in the POST is answered or cancelled.
 */
import type { ServerResponse } from 'node:http';
import { idKey, type JsonRpcMessage, type JsonRpcResponse, type RequestId } from '../core/jsonrpc.js';
import { SseStream } from './sse.js';

export class PostExchange {
  private stream: SseStream | undefined;
  private readonly awaiting = new Set<string>();
  private gone = false;
  /**
   * A request of this POST has gone upstream. Until then the stream carries nothing but its own
   * answers: a lone request may still be refused with a plain HTTP status (step-up's 403).
   */
  relaying = false;
  /** Called once, when the response is over (answered in full, or the client went away). */
  onclose: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Readonly<Record<string, string>>,
    ids: readonly RequestId[],
  ) {
    for (const id of ids) this.awaiting.add(idKey(id));
    res.once('close', () => {
      this.gone = true;
      this.onclose();
    });
  }

  /** Nothing has been written yet: the HTTP status is still free. */
  get pristine(): boolean {
    return this.stream === undefined && !this.res.headersSent;
  }

  get open(): boolean {
    return !this.gone && (this.stream?.open ?? !this.res.writableEnded);
  }

  /** Sends a message that is not an answer (progress, a server request); false if it was not delivered. */
  send(message: JsonRpcMessage): boolean {
    return this.open && this.opened().send(message);
  }

  /** Marks `id` answered, writing `response` if there is one; ends the stream after the last. */
  complete(id: RequestId, response: JsonRpcResponse | undefined): void {
    if (!this.awaiting.delete(idKey(id))) return;
    if (!this.open) return;
    const last = this.awaiting.size === 0;
    if (response && last) this.opened().sendAndEnd(response);
    else if (response) this.opened().send(response);
    else if (last) this.opened().end();
  }

  private opened(): SseStream {
    this.stream ??= new SseStream(this.res, { headers: this.headers, flush: false });
    return this.stream;
  }
}
