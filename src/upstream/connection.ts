/** A message pipe to one upstream MCP server, whatever carries it (a child's stdio, HTTP). */
import type { JsonRpcMessage } from '../core/jsonrpc.js';

export interface UpstreamConnection {
  /** The child process, for a stdio upstream. */
  readonly pid?: number;
  /** Delivers one message; rejects when the upstream cannot take it. `headers` only apply over HTTP. */
  send(message: JsonRpcMessage, options?: SendOptions): Promise<void>;
  /** Every message the upstream sends. */
  onmessage: (message: JsonRpcMessage) => void;
  /** Called once if the connection ends without close() being called (a crash, a lost session). */
  onclose: (reason: Error) => void;
  /** Ends the connection and everything it started (the child process, the upstream session). */
  close(): Promise<void>;
  /** The HTTP transport must send the negotiated revision in its headers once initialize is done. */
  setProtocolVersion(version: string): void;
}

export interface SendOptions {
  /** Extra HTTP headers for this message (Mcp-Param-* derived from the body). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Opens a fresh connection; called once per session and again after each crash. */
export type Connector = () => Promise<UpstreamConnection>;
