/**
 * A Streamable HTTP upstream, on node:http(s) with a keep-alive agent.
 *
 * Written by hand rather than on the SDK's StreamableHTTPClientTransport because the benchmark
 * measured that transport (fetch, web streams, a parser stream pair per response, schema
 * re-validation) at more than half of the gateway's CPU per relayed call and ~56 KiB of heap per
 * idle upstream session; the wire protocol the gateway needs is small: POST one message, read a
 * JSON or SSE answer, keep the session id, hold a GET stream for server messages (2025), DELETE on
 * close. SSE framing is parsed by SseReader; every message is checked with toMessage.
 *
 * The configured credential headers are sent to the upstream and nowhere else: redirects are never
 * followed. A lost 2025 session (404) closes the connection, so the session layer reconnects and
 * re-initializes; a 2026-07-28 upstream's 4xx answers are per-request JSON-RPC errors.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { UpstreamConfig } from '../config/schema.js';
import { type JsonRpcMessage, toMessage } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import { encodeParamValue } from '../relay/modern/param-headers.js';
import type { SendOptions, UpstreamConnection } from './connection.js';
import { redactUrl } from './redact-url.js';
import { SseReader } from './sse-reader.js';

const MODERN_META = 'io.modelcontextprotocol/protocolVersion';
/** A single upstream message larger than this ends the response (protects the gateway's memory). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

export interface HttpOptions {
  readonly name: string;
  readonly config: UpstreamConfig & { url: string };
  readonly logger: Logger;
}

/**
 * What every session's connection to one upstream shares: the keep-alive agent, the parsed URL and
 * the logger. One agent per session cost ~1.4 KiB of heap per idle session (the agent and its
 * socket tables) and kept the socket of each session's initialize POST open beside its GET stream
 * until the upstream timed it out; shared, a socket one session's POST leaves free carries the
 * next session's. Sockets carry no session state: every request names its session in its headers.
 * The pool closes with its last connection, so no socket outlives the sessions that used it.
 */
interface UpstreamPool {
  readonly url: URL;
  readonly agent: HttpAgent;
  readonly request: typeof httpRequest;
  readonly log: Logger;
  connections: number;
}

/**
 * By config object: the gateway's connector for an upstream (gateway/channels.ts connectorFor)
 * hands every start the same one, so each upstream has one pool.
 */
const pools = new WeakMap<HttpOptions['config'], UpstreamPool>();

function acquirePool({ name, config, logger }: HttpOptions): UpstreamPool {
  let pool = pools.get(config);
  if (!pool) {
    const url = new URL(config.url);
    const tls = url.protocol === 'https:';
    pool = {
      url,
      agent: tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
      request: tls ? httpsRequest : httpRequest,
      log: logger.child({ upstream: name, url: redactUrl(config.url) }),
      connections: 0,
    };
    pools.set(config, pool);
  }
  pool.connections++;
  return pool;
}

function releasePool(config: HttpOptions['config'], pool: UpstreamPool): void {
  if (--pool.connections > 0) return;
  if (pools.get(config) === pool) pools.delete(config);
  pool.agent.destroy();
}

export async function startHttp(options: HttpOptions): Promise<UpstreamConnection> {
  return new HttpConnection(options.config, acquirePool(options));
}

class HttpConnection implements UpstreamConnection {
  onmessage: (message: JsonRpcMessage) => void = () => {};
  onclose: (reason: Error) => void = () => {};
  private readonly modern: boolean;
  private readonly log: Logger;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private getStream: ClientRequest | undefined;
  /** This connection's requests still open (POSTs whose answer is being read, a DELETE). */
  private readonly open = new Set<ClientRequest>();
  private closed = false;

  constructor(
    private readonly config: UpstreamConfig & { url: string },
    private readonly pool: UpstreamPool,
  ) {
    this.modern = config.protocol === '2026-07-28';
    this.protocolVersion = this.modern ? config.protocol : undefined;
    this.log = pool.log;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JsonRpcMessage, options: SendOptions = {}): Promise<void> {
    if (this.closed) throw new Error('the upstream connection is closed');
    const initialize = 'method' in message && message.method === 'initialize';
    const res = await this.exchange(
      'POST',
      { ...this.headers(message, initialize), ...options.headers },
      JSON.stringify(message),
    );
    const status = res.statusCode ?? 0;
    if (initialize && status >= 200 && status < 300) {
      const id = res.headers['mcp-session-id'];
      this.sessionId = typeof id === 'string' && id !== '' ? id : undefined;
    }
    if (status === 202) {
      res.resume();
      if ('method' in message && message.method === 'notifications/initialized' && !this.modern)
        this.openGetStream();
      return;
    }
    if (status >= 200 && status < 300) {
      this.readMessages(res);
      return;
    }
    const body = await readText(res).catch(() => '');
    const answer = this.modern ? inBandError(body, message) : undefined;
    if (answer) {
      this.onmessage(answer);
      return;
    }
    if (status === 404 && !this.modern && this.sessionId !== undefined)
      this.lost(new Error('the upstream ended its session (404)'));
    throw new Error(
      status >= 300 && status < 400
        ? `the upstream answered with a redirect (HTTP ${status}), which is not followed`
        : `the upstream answered HTTP ${status}`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abortOpen();
    if (this.sessionId !== undefined) {
      await this.exchange('DELETE', this.headers(undefined, false)).then(
        (res) => res.resume(),
        (err: Error) => this.log.debug({ err: err.message }, 'ending the upstream session failed'),
      );
    }
    releasePool(this.config, this.pool);
  }

  /** Ends what this connection has open upstream, and nothing of the other sessions sharing the pool. */
  private abortOpen(): void {
    this.getStream?.destroy();
    for (const req of this.open) req.destroy();
    this.open.clear();
  }

  private headers(message: JsonRpcMessage | undefined, initialize: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.config.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (this.sessionId !== undefined && !initialize) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion !== undefined && !initialize)
      headers['mcp-protocol-version'] = this.protocolVersion;
    if (message && 'method' in message && 'id' in message) {
      // 2026-07-28: the standard headers mirror the request's body.
      const version = (message.params?._meta as Record<string, unknown> | undefined)?.[MODERN_META];
      if (typeof version === 'string') {
        headers['mcp-protocol-version'] = version;
        headers['mcp-method'] = message.method;
        const field = NAME_SOURCE[message.method];
        const name = field === undefined ? undefined : message.params?.[field];
        if (typeof name === 'string') headers['mcp-name'] = encodeParamValue(name);
      }
    }
    return headers;
  }

  private exchange(
    method: 'POST' | 'GET' | 'DELETE',
    headers: Record<string, string>,
    body?: string,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.pool.request(this.pool.url, {
        method,
        agent: this.pool.agent,
        headers,
        timeout: this.config.timeout,
      });
      if (method === 'GET') this.getStream = req;
      else {
        this.open.add(req);
        req.once('close', () => this.open.delete(req));
      }
      req.once('response', resolve);
      req.once('error', (err) =>
        reject(
          new Error(`the upstream is unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`),
        ),
      );
      req.once('timeout', () => req.destroy(new Error('timed out')));
      req.end(body);
    });
  }

  /** Delivers every message of a JSON or SSE answer as it arrives. */
  private readMessages(res: IncomingMessage): void {
    const type = String(res.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    if (type === 'text/event-stream') {
      const reader = new SseReader((data) => this.deliver(data), MAX_MESSAGE_BYTES);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const problem = reader.feed(chunk);
        if (problem === undefined) return;
        this.log.warn({ err: problem }, 'the upstream sent a malformed event stream');
        res.destroy();
      });
      res.on('error', (err) => this.log.debug({ err: err.message }, 'upstream stream ended'));
      return;
    }
    readText(res).then(
      (text) => {
        if (text.trim()) this.deliver(text);
      },
      (err: Error) => this.log.warn({ err: err.message }, 'could not read the upstream answer'),
    );
  }

  private deliver(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.log.warn({ bytes: text.length }, 'the upstream sent something that is not JSON');
      return;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      try {
        this.onmessage(toMessage(item));
      } catch (err) {
        this.log.warn({ reason: (err as Error).message }, 'the upstream sent a message that is not JSON-RPC');
      }
    }
  }

  /** The session's stream for messages not tied to a request (2025 revisions). */
  private openGetStream(): void {
    if (this.closed || this.sessionId === undefined) return;
    const { 'content-type': _none, ...rest } = this.headers(undefined, false);
    const headers = { ...rest, accept: 'text/event-stream' };
    this.exchange('GET', headers).then(
      (res) => {
        if (res.statusCode !== 200) {
          // 405: the upstream offers no GET stream; anything else: it will not be reopened.
          res.resume();
          return;
        }
        this.readMessages(res);
        res.once('end', () => {
          if (!this.closed) setTimeout(() => this.openGetStream(), 1000).unref();
        });
      },
      (err: Error) => this.log.debug({ err: err.message }, 'no GET stream'),
    );
  }

  private lost(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.abortOpen();
    releasePool(this.config, this.pool);
    this.onclose(reason);
  }
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_MESSAGE_BYTES) {
        res.destroy();
        reject(new Error('the upstream answer is too large'));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** A 2026-07-28 error answer (e.g. 404 -32601) carried in an HTTP error body, for the request it answers. */
function inBandError(text: string, request: JsonRpcMessage): JsonRpcMessage | undefined {
  if (!text || !('id' in request)) return undefined;
  try {
    const parsed = toMessage(JSON.parse(text));
    return 'error' in parsed && parsed.id === request.id ? parsed : undefined;
  } catch {
    return undefined;
  }
}
