/**
 * A Streamable HTTP upstream, on the SDK's client transport (it already speaks every revision's
 * wire format: sessions, SSE streams, resumption). The gateway adds the configured credential
 * headers, which never come from and never go back to the client, and treats a lost upstream
 * session (404) as a closed connection, so the session layer reconnects and re-initializes.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { type JsonRpcMessage, toMessage } from '../mcp/jsonrpc.js';
import type { SendOptions, UpstreamConnection } from './connection.js';
import { ownSignalPerPost } from './own-signal-fetch.js';
import { redactUrl } from './redact-url.js';

export interface HttpOptions {
  readonly name: string;
  readonly config: UpstreamConfig & { url: string };
  readonly logger: Logger;
}

export async function startHttp(options: HttpOptions): Promise<UpstreamConnection> {
  const { name, config, logger } = options;
  const log = logger.child({ upstream: name, url: redactUrl(config.url) });
  // Redirects are followed only within the upstream's origin (the SDK default), so the credential
  // headers can never be sent to a host the operator did not name.
  const modern = config.protocol === '2026-07-28';
  // Loaded on first use: a gateway with only stdio upstreams does not pay for the HTTP client.
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const transport = new StreamableHTTPClientTransport(new URL(config.url), {
    fetch: ownSignalPerPost,
    requestInit: { headers: config.headers },
    ...(modern ? { protocolVersion: config.protocol } : {}),
  });
  const connection = new HttpConnection(transport, log, modern);
  await transport.start();
  return connection;
}

class HttpConnection implements UpstreamConnection {
  onmessage: (message: JsonRpcMessage) => void = () => {};
  onclose: (reason: Error) => void = () => {};
  private closed = false;

  constructor(
    private readonly transport: StreamableHTTPClientTransport,
    private readonly log: Logger,
    /** A 2026-07-28 upstream has no session: its 4xx answers are per-request JSON-RPC errors. */
    private readonly modern: boolean,
  ) {
    transport.onmessage = (message) => this.onmessage(message as JsonRpcMessage);
    transport.onerror = (err) => this.log.warn({ err: err.message }, 'upstream transport error');
    transport.onclose = () => this.lost(new Error('the upstream connection closed'));
  }

  async send(message: JsonRpcMessage, options: SendOptions = {}): Promise<void> {
    try {
      await this.transport.send(
        message as Parameters<StreamableHTTPClientTransport['send']>[0],
        options.headers ? { headers: { ...options.headers } } : undefined,
      );
    } catch (err) {
      const data = (err as { data?: { status?: number; text?: string } }).data;
      const status = data?.status;
      const answer = this.modern ? inBandError(data?.text, message) : undefined;
      if (answer) {
        this.onmessage(answer);
        return;
      }
      if (status === 404 && !this.modern) this.lost(new Error('the upstream ended its session (404)'));
      throw new Error(status ? `the upstream answered HTTP ${status}` : `the upstream is unreachable`);
    }
  }

  setProtocolVersion(version: string): void {
    this.transport.setProtocolVersion(version);
  }

  private lost(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose(reason);
    this.transport.close().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport
      .terminateSession()
      .catch((err: Error) => this.log.debug({ err: err.message }, 'terminate failed'));
    await this.transport.close();
  }
}

/** A 2026-07-28 error answer (e.g. 404 -32601) carried in an HTTP error body, for the request it answers. */
function inBandError(text: string | undefined, request: JsonRpcMessage): JsonRpcMessage | undefined {
  if (!text || !('id' in request)) return undefined;
  try {
    const parsed = toMessage(JSON.parse(text));
    return 'error' in parsed && parsed.id === request.id ? parsed : undefined;
  } catch {
    return undefined;
  }
}
