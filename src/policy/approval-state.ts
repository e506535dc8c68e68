/**
 * The `requestState` of an approval's input_required round (2026-07-28): a bound state over the
 * approval id, the caller and the upstream, under a key derived from the server secret, so the
 * client's retry can reach any instance of a fleet. A state this codec did not mint is not ours
 * (it may be the bridge's, for an upstream's own input round) and is left alone; one it minted for
 * another caller or upstream is refused.
 */
import { type BoundClaims, BoundStateCodec, stateRefused } from '../core/bound-state.js';

interface ApprovalStateClaims extends BoundClaims {
  readonly approval: string;
}

export class ApprovalStateCodec {
  private readonly codec: BoundStateCodec<ApprovalStateClaims>;

  constructor(key: Uint8Array, ttlSeconds: number) {
    this.codec = new BoundStateCodec(key, ttlSeconds);
  }

  mint(approval: string, principal: string, upstream: string): Promise<string> {
    return this.codec.mint({ approval, principal, upstream });
  }

  /** The approval id `state` resumes; undefined when this codec did not mint it (or it expired). */
  async open(state: string, principal: string, upstream: string): Promise<string | undefined> {
    const claims = await this.codec.open(state, principal, upstream);
    if (!claims) return undefined;
    if (typeof claims.approval !== 'string') throw stateRefused('it was issued to another caller');
    return claims.approval;
  }
}
