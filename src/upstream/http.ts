/**
 * A Streamable HTTP upstream, on the SDK's client transport (it already speaks every revision's
 * wire format: sessions, SSE streams, resumption). The gateway adds the configured credential
 * headers, which never come from and never go back to the client, and treats a lost upstream
 * session (404) as a closed connection, so the session layer reconnects and re-initializes.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { JsonRpcMessage } from '../mcp/jsonrpc.js';
import type { UpstreamConnection } from './connection.js';
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
  const transport = new StreamableHTTPClientTransport(new URL(config.url), {
    requestInit: { headers: config.headers },
  });
  const connection = new HttpConnection(transport, log);
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
  ) {
    transport.onmessage = (message) => this.onmessage(message as JsonRpcMessage);
    transport.onerror = (err) => this.log.warn({ err: err.message }, 'upstream transport error');
    transport.onclose = () => this.lost(new Error('the upstream connection closed'));
  }

  async send(message: JsonRpcMessage): Promise<void> {
    try {
      await this.transport.send(message as Parameters<StreamableHTTPClientTransport['send']>[0]);
    } catch (err) {
      const status = (err as { data?: { status?: number } }).data?.status;
      if (status === 404) this.lost(new Error('the upstream ended its session (404)'));
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
