/**
 * The open streams of one 2025 session and where a message not tied to a request goes: the
 * client's GET stream, else the newest open POST stream with a request upstream, else a bounded
 * buffer that the next GET stream receives first. Counts streams against the session's cap.
 */
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../core/errors.js';
import type { JsonRpcMessage, RequestId } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import { PostExchange } from './post-exchange.js';
import { SseStream } from './sse.js';

const BUFFER_LIMIT = 256;

export class SessionStreams {
  private readonly exchanges = new Set<PostExchange>();
  private getStream: SseStream | undefined;
  private readonly buffered: JsonRpcMessage[] = [];

  constructor(
    private readonly headers: Readonly<Record<string, string>>,
    /** Open SSE streams allowed at once (the GET stream and POST answers together). */
    private readonly maxStreams: number,
    private readonly log: Logger,
    /** Told when the GET stream closes (the session's idle clock). */
    private readonly onIdle: () => void,
  ) {}

  get open(): number {
    return this.exchanges.size + (this.getStream?.open ? 1 : 0);
  }

  /** The answer stream of a POST carrying requests `ids`. */
  exchange(res: ServerResponse, ids: readonly RequestId[]): PostExchange {
    this.refuseIfFull();
    const exchange = new PostExchange(res, this.headers, ids);
    this.exchanges.add(exchange);
    exchange.onclose = () => this.exchanges.delete(exchange);
    return exchange;
  }

  /** Opens the client's standalone stream, and hands it what waited for one. */
  openGet(res: ServerResponse): void {
    if (this.getStream?.open) {
      throw new GatewayError(
        'stream_conflict',
        'this session already has an open GET stream — close it first',
      );
    }
    this.refuseIfFull();
    const stream = new SseStream(res, { headers: this.headers, flush: true });
    this.getStream = stream;
    stream.onclose = () => {
      if (this.getStream === stream) this.getStream = undefined;
      this.onIdle();
    };
    for (const message of this.buffered.splice(0)) stream.send(message);
  }

  /** Delivers a message on `preferred` when it can, else by the session's routing rules. */
  route(message: JsonRpcMessage, preferred?: PostExchange): void {
    if (preferred?.send(message)) return;
    if (this.getStream?.send(message)) return;
    const newest = [...this.exchanges].reverse().find((e) => e.relaying && e.open);
    if (newest?.send(message)) return;
    if (this.buffered.length >= BUFFER_LIMIT) {
      this.buffered.shift();
      this.log.warn('client has no open stream; dropped the oldest undelivered message');
    }
    this.buffered.push(message);
  }

  endGet(): void {
    this.getStream?.end();
  }

  private refuseIfFull(): void {
    const open = this.open;
    if (open >= this.maxStreams) {
      throw new GatewayError(
        'too_many_streams',
        `this session already has ${open} open streams — wait for an answer before sending more`,
      );
    }
  }
}
