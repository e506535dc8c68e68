/** One MCP client session with the real SDK client (v2 Client + StreamableHTTPClientTransport). */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ownSignalPerPost } from './own-signal-fetch.js';

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
