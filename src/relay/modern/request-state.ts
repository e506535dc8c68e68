/**
 * `requestState` the gateway mints when it turns an upstream's mid-call request (elicitation,
 * sampling, roots) into an `input_required` result: the SDK's HMAC-SHA256 codec (signed, with an
 * expiry) over the parked call, the principal and the upstream. A client cannot alter it; another
 * principal's or another upstream's state fails the check after verification, and a state is
 * honoured once (the parked call is consumed on use). It carries no secret: it is signed, not
 * encrypted, and the client may read it.
 */
import { randomBytes } from 'node:crypto';
import {
  createRequestStateCodec,
  type RequestStateCodec as SdkRequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { GatewayError } from '../../core/errors.js';

export interface StateClaims {
  /** The parked call this state resumes. */
  readonly call: string;
  readonly principal: string;
  readonly upstream: string;
}

/** verify() takes the handler's context only for a `bind` callback, which this codec does not use. */
const NO_HANDLER_CONTEXT = {} as ServerContext;

function refused(why: string): GatewayError {
  return new GatewayError(
    'invalid_request_state',
    `requestState is not valid: ${why} — start the request again without it`,
    { rpcCode: -32602 },
  );
}

export class RequestStateCodec {
  // Parked calls live in this process's memory, so a per-process key is exactly as long-lived as they are.
  private readonly codec: SdkRequestStateCodec<StateClaims>;

  constructor(ttlSeconds: number) {
    this.codec = createRequestStateCodec<StateClaims>({ key: randomBytes(32), ttlSeconds });
  }

  mint(claims: StateClaims): Promise<string> {
    return this.codec.mint({ call: claims.call, principal: claims.principal, upstream: claims.upstream });
  }

  /** The claims of `state` if it is genuine, unexpired and bound to this principal and upstream. */
  async open(state: string, principal: string, upstream: string): Promise<StateClaims> {
    let claims: StateClaims;
    try {
      claims = await this.codec.verify(state, NO_HANDLER_CONTEXT);
    } catch {
      throw refused('it was altered, has expired, or was not issued by this gateway');
    }
    if (claims?.principal !== principal || claims.upstream !== upstream || typeof claims.call !== 'string')
      throw refused('it was issued to another caller');
    return { call: claims.call, principal, upstream };
  }
}
