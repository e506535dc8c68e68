/** One MCP client session with the real SDK client (v2 Client + StreamableHTTPClientTransport). */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export const ECHO_MESSAGE = 'portcullis-bench';

export class BenchSession {
  private constructor(
    readonly client: Client,
    readonly transport: StreamableHTTPClientTransport,
  ) {}

  /** initialize + notifications/initialized (the SDK then opens the session's GET stream). */
  static async open(url: string, headers: Readonly<Record<string, string>> = {}): Promise<BenchSession> {
    const client = new Client({ name: 'portcullis-bench', version: '1.0.0' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers },
      fetch: ownSignalPerPost,
    });
    await client.connect(transport);
    return new BenchSession(client, transport);
  }

  get protocolVersion(): string | undefined {
    return this.client.getNegotiatedProtocolVersion();
  }

  /** One `tools/call` of server-everything's `echo`; throws unless the echo comes back. */
  async echo(): Promise<void> {
    const result = await this.client.callTool({ name: 'echo', arguments: { message: ECHO_MESSAGE } });
    const first = (result.content as { type: string; text?: string }[] | undefined)?.[0];
    if (first?.type !== 'text' || !first.text?.includes(ECHO_MESSAGE)) {
      throw new Error(`echo returned ${JSON.stringify(result).slice(0, 200)}`);
    }
  }

  /** DELETE the session (the gateway ends its upstream child or session), then drop the client. */
  async close(): Promise<void> {
    await this.transport.terminateSession().catch(() => {});
    await this.client.close().catch(() => {});
  }
}

/**
 * The SDK passes its transport-wide AbortSignal to every fetch, and undici adds an abort listener to
 * it per request that only a garbage collection removes: after ~1,500 calls in one session Node
 * prints MaxListenersExceededWarning, and each call pays for the ever longer listener list. So each
 * POST gets its own signal, linked to the transport's until its response headers arrive (the bench
 * never cancels a call mid-answer); GET streams keep the transport's signal. Same for every target.
 */
async function ownSignalPerPost(url: string | URL, init?: RequestInit): Promise<Response> {
  const outer = init?.signal;
  if (!outer || init?.method !== 'POST') return fetch(url, init);
  const own = new AbortController();
  const abort = () => own.abort(outer.reason);
  if (outer.aborted) abort();
  else outer.addEventListener('abort', abort, { once: true });
  try {
    return await fetch(url, { ...init, signal: own.signal });
  } finally {
    outer.removeEventListener('abort', abort);
  }
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
