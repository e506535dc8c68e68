/** What serves a principal's 2026-07-28 requests for one upstream, whatever revision the upstream speaks. */

import type { JsonRpcRequest, RequestId } from '../../core/jsonrpc.js';
import type { ModernEnvelope } from '../../core/revisions.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { Registrable } from '../session-registry.js';
import type { ModernExchange } from './exchange.js';

export interface ModernBackend extends Registrable {
  readonly kind: 'stateless';
  /** The policy for this backend's upstream; its catalog also serves x-mcp-header checks. */
  readonly gatekeeper: Gatekeeper;
  discover(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  /** Relays a request the policy already allowed; its answer goes to `exchange`, for the call stages. */
  call(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  listen(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void>;
  /** The client cancelled the request with this id. */
  cancel(clientId: RequestId): void;
}
