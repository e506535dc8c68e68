/**
 * The keys access tokens are signed with, all derived from the OAuth signing secret so every
 * instance of a fleet has them without sharing any key material but the secret:
 * - HS256: one HMAC key. Only the gateway can verify (it is also the resource server).
 * - ES256: a P-256 key per rotation period, derived from (secret, period number). It rotates by
 *   itself — every instance switches at the same instant — and the public keys of the previous,
 *   current and next periods are published as a JWKS, so anyone can verify a token and a token
 *   signed near a period's end stays valid until it expires (the token lifetime must not exceed the
 *   rotation period; the config schema enforces it).
 * Rotating the secret replaces every key, which invalidates every outstanding token.
 */
import { createECDH } from 'node:crypto';
import { type CryptoKey, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { deriveKey } from './derive-key.js';

export type AccessTokenAlgorithm = 'HS256' | 'ES256';

export interface SigningKeysOptions {
  readonly algorithm: AccessTokenAlgorithm;
  /** The OAuth signing secret (at least 32 bytes). */
  readonly secret: Uint8Array;
  /** ES256 only: how long one key signs. */
  readonly rotationMs?: number;
  readonly now?: () => number;
}

export interface SigningKey {
  readonly kid: string;
  readonly key: CryptoKey | Uint8Array;
}

const DEFAULT_ROTATION_MS = 7 * 86_400_000;
const KID = /^es256-(\d{1,12})$/;

interface PeriodKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export class SigningKeys {
  readonly algorithm: AccessTokenAlgorithm;
  private readonly hmacKey: Uint8Array | undefined;
  private readonly rotationMs: number;
  private readonly now: () => number;
  /** Keys of recent periods, derived once each (scalar multiplication is not free). */
  private readonly periods = new Map<number, Promise<PeriodKey>>();

  constructor(private readonly options: SigningKeysOptions) {
    this.algorithm = options.algorithm;
    this.rotationMs = options.rotationMs ?? DEFAULT_ROTATION_MS;
    if (!Number.isInteger(this.rotationMs) || this.rotationMs < 60_000) {
      throw new TypeError(
        'the key rotation period must be a whole number of milliseconds, at least one minute',
      );
    }
    this.now = options.now ?? Date.now;
    this.hmacKey =
      options.algorithm === 'HS256' ? deriveKey(options.secret, 'access-token-hs256') : undefined;
  }

  /** The key to sign with now. */
  async signingKey(): Promise<SigningKey> {
    if (this.hmacKey) return { kid: 'hs256', key: this.hmacKey };
    const period = this.period();
    return { kid: `es256-${period}`, key: (await this.periodKey(period)).privateKey };
  }

  /** The key that verifies a token with this kid, or undefined when no key we accept now has it. */
  async verificationKey(kid: string | undefined): Promise<CryptoKey | Uint8Array | undefined> {
    if (this.hmacKey) return kid === undefined || kid === 'hs256' ? this.hmacKey : undefined;
    const match = kid === undefined ? null : KID.exec(kid);
    if (!match) return undefined;
    const period = Number(match[1]);
    const current = this.period();
    if (period < current - 1 || period > current + 1) return undefined;
    return (await this.periodKey(period)).publicKey;
  }

  /** The public JWKS (RFC 7517) to publish at jwks_uri; empty for HS256, whose key is secret. */
  async jwks(): Promise<JSONWebKeySet> {
    if (this.hmacKey) return { keys: [] };
    const current = this.period();
    const keys = await Promise.all([current - 1, current, current + 1].map((p) => this.periodKey(p)));
    return { keys: keys.map((k) => k.publicJwk) };
  }

  private period(): number {
    return Math.floor(this.now() / this.rotationMs);
  }

  private periodKey(period: number): Promise<PeriodKey> {
    let key = this.periods.get(period);
    if (!key) {
      key = derivePeriodKey(this.options.secret, period);
      this.periods.set(period, key);
      // Only a few periods are ever in the window; forget the oldest.
      for (const old of this.periods.keys()) if (old < period - 2) this.periods.delete(old);
    }
    return key;
  }
}

/** A P-256 key pair from HKDF output used as the private scalar (retried in the ~2^-32 case it is out of range). */
async function derivePeriodKey(secret: Uint8Array, period: number): Promise<PeriodKey> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const d = deriveKey(secret, `access-token-es256:${period}:${attempt}`);
    const ecdh = createECDH('prime256v1');
    try {
      ecdh.setPrivateKey(d);
    } catch {
      continue;
    }
    const point = ecdh.getPublicKey();
    const kid = `es256-${period}`;
    const publicJwk: JWK = {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
      kid,
      alg: 'ES256',
      use: 'sig',
    };
    const privateJwk: JWK = { ...publicJwk, d: Buffer.from(d).toString('base64url') };
    return {
      privateKey: (await importJWK(privateJwk, 'ES256')) as CryptoKey,
      publicKey: (await importJWK(publicJwk, 'ES256')) as CryptoKey,
      publicJwk,
    };
  }
  throw new Error('could not derive an ES256 key from the signing secret');
}
