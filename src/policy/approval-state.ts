/**
 * The `requestState` of an approval's input_required round (2026-07-28): the SDK's HMAC-SHA256 codec
 * over the approval id, the caller and the upstream, under a key derived from the server secret, so
 * the client's retry can reach any instance of a fleet. A state this codec did not mint is not ours
 * (it may be the bridge's, for an upstream's own input round) and is left alone; one it minted for
 * another caller or upstream is refused.
 */
import { createRequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';
import { GatewayError } from '../core/errors.js';

interface ApprovalStateClaims {
  readonly approval: string;
  readonly principal: string;
  readonly upstream: string;
}

/** verify() takes the handler's context only for a `bind` callback, which this codec does not use. */
const NO_HANDLER_CONTEXT = {} as ServerContext;

export class ApprovalStateCodec {
  private readonly codec;

  constructor(key: Uint8Array, ttlSeconds: number) {
    this.codec = createRequestStateCodec<ApprovalStateClaims>({ key, ttlSeconds });
  }

  mint(approval: string, principal: string, upstream: string): Promise<string> {
    return this.codec.mint({ approval, principal, upstream });
  }

  /** The approval id `state` resumes; undefined when this codec did not mint it (or it expired). */
  async open(state: string, principal: string, upstream: string): Promise<string | undefined> {
    let claims: ApprovalStateClaims;
    try {
      claims = await this.codec.verify(state, NO_HANDLER_CONTEXT);
    } catch {
      return undefined;
    }
    if (
      claims?.principal !== principal ||
      claims.upstream !== upstream ||
      typeof claims.approval !== 'string'
    )
      throw new GatewayError(
        'invalid_request_state',
        'requestState is not valid: it was issued to another caller — start the request again without it',
        { rpcCode: -32602 },
      );
    return claims.approval;
  }
}
