/** One Server-Sent Events response carrying JSON-RPC messages (MCP Streamable HTTP). */
import type { ServerResponse } from 'node:http';
import type { JsonRpcMessage } from '../core/jsonrpc.js';

/** A client that stops reading may not make the gateway buffer without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** Comment frames at this interval keep idle proxies from cutting a long-lived stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * One timer for every open stream rather than one per stream: most POST answers end within
 * milliseconds, and a timer created and cleared per answer showed in the profile.
 */
const alive = new Set<SseStream>();
let ticker: NodeJS.Timeout | undefined;

function track(stream: SseStream): void {
  alive.add(stream);
  if (ticker) return;
  ticker = setInterval(() => {
    for (const s of alive) s.ping();
  }, KEEP_ALIVE_MS);
  ticker.unref();
}

function untrack(stream: SseStream): void {
  alive.delete(stream);
  if (alive.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

export interface SseOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** Send headers at once (a GET stream) rather than with the first event (a POST answer). */
  readonly flush: boolean;
}

export class SseStream {
  private closed = false;
  onclose: () => void = () => {};

  constructor(
    private readonly res: ServerResponse,
    options: SseOptions,
  ) {
    res.writeHead(200, {
      ...options.headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-store, no-transform',
      'x-accel-buffering': 'no',
    });
    if (options.flush) res.flushHeaders();
    track(this);
    res.on('close', () => {
      this.closed = true;
      untrack(this);
      this.onclose();
    });
  }

  get open(): boolean {
    return !this.closed && !this.res.writableEnded;
  }

  /** A comment frame: keeps proxies from timing the stream out. */
  ping(): void {
    this.write(': keep-alive\n\n');
  }

  /** Sends one message; false when the stream is gone and the message was not delivered. */
  send(message: JsonRpcMessage): boolean {
    return this.write(frame(message));
  }

  /** Sends a last message and ends the response in one write. */
  sendAndEnd(message: JsonRpcMessage): boolean {
    if (!this.open) return false;
    this.res.end(frame(message));
    return true;
  }

  end(): void {
    if (this.open) this.res.end();
  }

  private write(chunk: string): boolean {
    if (!this.open) return false;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      return false;
    }
    this.res.write(chunk);
    return true;
  }
}

function frame(message: JsonRpcMessage): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}
