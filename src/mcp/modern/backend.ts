/** What serves a principal's 2026-07-28 requests for one upstream, whatever revision the upstream speaks. */
import type { JsonRpcRequest, RequestId } from '../jsonrpc.js';
import type { Closeable } from '../session-registry.js';
import type { ModernEnvelope } from './envelope.js';
import type { ModernExchange } from './exchange.js';

export interface ModernBackend extends Closeable {
  discover(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  call(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  listen(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  /** The client cancelled the request with this id. */
  cancel(clientId: RequestId): void;
}
