/**
 * A `requestState` the gateway mints for a caller and an upstream: the SDK's HMAC-SHA256 codec
 * (signed, with an expiry), and one check that a genuine state is used by the caller and on the
 * upstream it was issued for. The bridge's parked calls and the approval hold's rounds both use it.
 *
 * The SDK's server package (with ajv) is loaded at the first state, not at start: most gateways
 * never mint one, and loading it costs every instance 5–16 MiB of resident memory.
 */
import type { RequestStateCodec, ServerContext } from '@modelcontextprotocol/server';
import { GatewayError } from './errors.js';

export interface BoundClaims {
  readonly principal: string;
  readonly upstream: string;
}

/** verify() takes the handler's context only for a `bind` callback, which this codec does not use. */
const NO_HANDLER_CONTEXT = {} as ServerContext;

/** The refusal of a state, saying why and what to do (2026-07-28: -32602). */
export function stateRefused(why: string): GatewayError {
  return new GatewayError(
    'invalid_request_state',
    `requestState is not valid: ${why} — start the request again without it`,
    { rpcCode: -32602 },
  );
}

export class BoundStateCodec<T extends BoundClaims> {
  private codec: Promise<RequestStateCodec<T>> | undefined;

  constructor(
    private readonly key: Uint8Array,
    private readonly ttlSeconds: number,
  ) {}

  async mint(claims: T): Promise<string> {
    return (await this.sdk()).mint(claims);
  }

  private sdk(): Promise<RequestStateCodec<T>> {
    this.codec ??= import('@modelcontextprotocol/server').then(({ createRequestStateCodec }) =>
      createRequestStateCodec<T>({ key: this.key, ttlSeconds: this.ttlSeconds }),
    );
    return this.codec;
  }

  /** The claims of a genuine, unexpired state; undefined for anything this codec did not mint. */
  async claims(state: string): Promise<T | undefined> {
    try {
      const claims = await (await this.sdk()).verify(state, NO_HANDLER_CONTEXT);
      return claims && typeof claims === 'object' ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The claims of a genuine state issued to `principal` for `upstream`; undefined when this codec
   * did not mint it; refused when it was minted for another caller or upstream.
   */
  async open(state: string, principal: string, upstream: string): Promise<T | undefined> {
    const claims = await this.claims(state);
    if (!claims) return undefined;
    if (claims.principal !== principal || claims.upstream !== upstream)
      throw stateRefused('it was issued to another caller');
    return claims;
  }
}
