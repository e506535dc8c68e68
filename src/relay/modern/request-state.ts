/**
 * `requestState` the gateway mints when it turns an upstream's mid-call request (elicitation,
 * sampling, roots) into an `input_required` result: the SDK's HMAC-SHA256 codec (signed, with an
 * expiry) over the parked call, the principal, the upstream and the instance holding the call. A
 * client cannot alter it; another principal's or another upstream's state fails the check after
 * verification, and a state is honoured once (the parked call is consumed on use).
 *
 * In a fleet the parked call lives in one instance's memory (its 2025 upstream session), while the
 * retry may reach any instance: every instance derives the same key from the shared secret, so any
 * of them can verify a state and find its owner; the owner's address travels in the state
 * encrypted (AES-256-GCM), so a client learns no internal address. The state carries no secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type BoundClaims, BoundStateCodec, stateRefused } from '../../core/bound-state.js';

export interface StateClaims extends BoundClaims {
  /** The parked call this state resumes. */
  readonly call: string;
}

interface SignedClaims extends StateClaims {
  /** The instance holding the parked call (random per process start). */
  readonly owner: string;
  /** That instance's address for its peers, encrypted; absent when it advertises none. */
  readonly via?: string;
}

/** Where a genuine state's call is parked: here, or at a peer (reachable at `route`, if known). */
export type StateOwner = { readonly here: true } | { readonly here: false; readonly route?: string };

export interface RequestStateKeys {
  /** Signs states (HMAC-SHA256): the same on every instance of a fleet. */
  readonly signing: Uint8Array;
  /** Encrypts the owner's address (AES-256-GCM). */
  readonly route: Uint8Array;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Refused the same way whichever check failed: which one is of no use to the client. */
const NOT_OURS = 'it was altered, has expired, or was not issued by this gateway';

export class RequestStateCodec {
  readonly instance = randomBytes(12).toString('base64url');
  private readonly codec: BoundStateCodec<SignedClaims>;
  private readonly via: string | undefined;

  constructor(
    ttlSeconds: number,
    private readonly keys: RequestStateKeys,
    /** The URL peers reach this instance at (fleet.advertiseUrl). */
    advertiseUrl?: string,
  ) {
    this.codec = new BoundStateCodec(keys.signing, ttlSeconds);
    this.via = advertiseUrl === undefined ? undefined : this.seal(advertiseUrl);
  }

  mint(claims: StateClaims): Promise<string> {
    return this.codec.mint({
      call: claims.call,
      principal: claims.principal,
      upstream: claims.upstream,
      owner: this.instance,
      ...(this.via ? { via: this.via } : {}),
    });
  }

  /** Where the call of a genuine, unexpired `state` is parked. */
  async owner(state: string): Promise<StateOwner> {
    const claims = await this.codec.claims(state);
    if (!claims) throw stateRefused(NOT_OURS);
    if (claims.owner === this.instance) return { here: true };
    const route = typeof claims.via === 'string' ? this.unseal(claims.via) : undefined;
    return route === undefined ? { here: false } : { here: false, route };
  }

  /** The claims of `state` if it is genuine, unexpired, parked here and bound to this principal and upstream. */
  async open(state: string, principal: string, upstream: string): Promise<StateClaims> {
    const claims = await this.codec.open(state, principal, upstream);
    if (!claims) throw stateRefused(NOT_OURS);
    if (typeof claims.call !== 'string') throw stateRefused('it was issued to another caller');
    if (claims.owner !== this.instance)
      throw stateRefused('the gateway instance that holds its call has restarted or cannot be reached');
    return { call: claims.call, principal, upstream };
  }

  private seal(text: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.route, iv);
    const sealed = Buffer.concat([iv, cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /** Undefined for anything this fleet's key did not seal (the signature already held, so: never). */
  private unseal(sealed: string): string | undefined {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keys.route, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
