/**
 * `requestState` the gateway mints when it turns an upstream's mid-call request (elicitation,
 * sampling, roots) into an `input_required` result: a compact JWS (HS256, jose) naming the parked
 * call, bound to the principal and the upstream, with a short expiry. A client can neither read
 * another meaning into it nor alter it; another principal's state fails the binding check, and a
 * state is honoured once (the parked call is consumed on use).
 */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { GatewayError } from '../../core/errors.js';

export interface StateClaims {
  /** The parked call this state resumes. */
  readonly call: string;
  readonly principal: string;
  readonly upstream: string;
}

const AUDIENCE = 'portcullis:request-state';

function refused(why: string): GatewayError {
  return new GatewayError(
    'invalid_request_state',
    `requestState is not valid: ${why} — start the request again without it`,
    {
      rpcCode: -32602,
    },
  );
}

export class RequestStateCodec {
  /** Parked calls live in this process's memory, so a per-process key is exactly as long-lived as they are. */
  private readonly key = randomBytes(32);

  constructor(private readonly ttlSeconds: number) {}

  async mint(claims: StateClaims): Promise<string> {
    return new SignJWT({ call: claims.call, upstream: claims.upstream })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.principal)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The claims of `state` if it is genuine, unexpired and bound to this principal and upstream. */
  async open(state: string, principal: string, upstream: string): Promise<StateClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(state, this.key, { algorithms: ['HS256'], audience: AUDIENCE }));
    } catch {
      throw refused('it was altered, has expired, or was not issued by this gateway');
    }
    if (payload.sub !== principal || payload.upstream !== upstream || typeof payload.call !== 'string') {
      throw refused('it was issued to another caller');
    }
    return { call: payload.call, principal, upstream };
  }
}
