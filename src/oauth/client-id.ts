/**
 * Open dynamic client registration (RFC 7591) with nothing stored: the client id IS the
 * registration — `pcd_` + a JWS (HS256, key derived from the signing secret) over the validated
 * metadata. Any instance holding the secret can read it back, after restarts and across a fleet (the
 * Loomio seed's StatelessClientsStore). A confidential client's secret is an HMAC of its id under
 * another derived key, so it need not be stored either. A changed byte breaks the signature, and
 * rotating the secret invalidates every registration at once (clients then register again).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import {
  type ClientMetadata,
  clientFromMetadata,
  type OAuthClient,
  parseClientMetadata,
} from './client-metadata.js';
import { deriveKey } from './derive-key.js';
import { OAuthError } from './errors.js';

export const DYNAMIC_CLIENT_PREFIX = 'pcd_';
export const CLIENT_SECRET_PREFIX = 'pcs_';
/** Largest registration request accepted; the HTTP layer should refuse a bigger body before parsing. */
export const MAX_REGISTRATION_BYTES = 8 * 1024;
/**
 * Largest metadata kept in a client id. The id travels in the /authorize URL, and browsers and
 * proxies cut URLs at around 8 KiB; 2 KiB of metadata is a ~2.9 KiB id.
 */
export const MAX_SIGNED_METADATA_BYTES = 2048;
const MAX_CLIENT_ID_LENGTH = 4096;
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Marks the JWS as a client registration, so no other JWS under some key can pose as one. */
const TYP = 'pcl-client';

/** RFC 7591 §3.2.1 registration response. */
export interface RegistrationResponse {
  readonly client_id: string;
  readonly client_id_issued_at: number;
  readonly client_secret?: string;
  /** 0: does not expire by time (only when the signing secret is rotated). */
  readonly client_secret_expires_at?: 0;
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method: string;
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly client_name?: string;
  readonly client_uri?: string;
  readonly logo_uri?: string;
  readonly scope?: string;
}

interface SignedRegistration {
  readonly v: 1;
  readonly iss: string;
  readonly iat: number;
  /** Random, so two identical registrations still get distinct ids (and distinct secrets). */
  readonly rid: string;
  readonly m: ClientMetadata;
}

export interface DynamicClientsOptions {
  /** Our issuer identifier: a client id minted by another issuer with the same secret is refused. */
  readonly issuer: string;
  /** The OAuth signing secret (at least 32 bytes). */
  readonly secret: Uint8Array;
  readonly now?: () => number;
}

export function isDynamicClientId(clientId: string): boolean {
  return clientId.startsWith(DYNAMIC_CLIENT_PREFIX);
}

export class DynamicClients {
  private readonly idKey: Uint8Array;
  private readonly secretKey: Uint8Array;
  private readonly now: () => number;

  constructor(private readonly options: DynamicClientsOptions) {
    this.idKey = deriveKey(options.secret, 'client-id');
    this.secretKey = deriveKey(options.secret, 'client-secret');
    this.now = options.now ?? Date.now;
  }

  /** Validates a registration request and answers with the signed client id (and secret when confidential). */
  async register(request: unknown): Promise<RegistrationResponse> {
    const size = Buffer.byteLength(JSON.stringify(request ?? null), 'utf8');
    if (size > MAX_REGISTRATION_BYTES) {
      throw new OAuthError(
        'invalid_client_metadata',
        `the registration request is ${size} bytes; at most ${MAX_REGISTRATION_BYTES} are accepted`,
      );
    }
    const metadata = parseClientMetadata(request);
    const kept = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
    if (kept > MAX_SIGNED_METADATA_BYTES) {
      throw new OAuthError(
        'invalid_client_metadata',
        `the registered metadata is ${kept} bytes; at most ${MAX_SIGNED_METADATA_BYTES} are accepted — register fewer or shorter redirect URIs and names`,
      );
    }
    const iat = Math.floor(this.now() / 1000);
    const payload: SignedRegistration = {
      v: 1,
      iss: this.options.issuer,
      iat,
      rid: randomBytes(9).toString('base64url'),
      m: metadata,
    };
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
      .setProtectedHeader({ alg: 'HS256', typ: TYP })
      .sign(this.idKey);
    const clientId = `${DYNAMIC_CLIENT_PREFIX}${jws}`;
    const client = clientFromMetadata(clientId, 'dynamic', metadata, 'client_secret_basic');
    const confidential = client.tokenEndpointAuthMethod !== 'none';
    return {
      client_id: clientId,
      client_id_issued_at: iat,
      ...(confidential
        ? { client_secret: this.secretFor(clientId), client_secret_expires_at: 0 as const }
        : {}),
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      grant_types: client.grantTypes,
      response_types: ['code'],
      ...(metadata.client_name !== undefined ? { client_name: metadata.client_name } : {}),
      ...(metadata.client_uri !== undefined ? { client_uri: metadata.client_uri } : {}),
      ...(metadata.logo_uri !== undefined ? { logo_uri: metadata.logo_uri } : {}),
      ...(metadata.scope !== undefined ? { scope: metadata.scope } : {}),
    };
  }

  /** The client a signed id describes; invalid_client when it is not one of ours or was altered. */
  async client(clientId: string): Promise<OAuthClient> {
    if (!isDynamicClientId(clientId)) throw unknown('is not a dynamically registered client id');
    const jws = clientId.slice(DYNAMIC_CLIENT_PREFIX.length);
    if (clientId.length > MAX_CLIENT_ID_LENGTH || !JWS.test(jws)) throw unknown('is malformed');
    let payload: Uint8Array;
    try {
      const verified = await compactVerify(jws, this.idKey, { algorithms: ['HS256'] });
      if (verified.protectedHeader.typ !== TYP) throw new Error('typ');
      payload = verified.payload;
    } catch {
      throw unknown(
        'does not verify — it was altered, or the signing secret was rotated since it was registered (register again)',
      );
    }
    let signed: SignedRegistration;
    try {
      signed = JSON.parse(Buffer.from(payload).toString('utf8')) as SignedRegistration;
    } catch {
      throw unknown('carries an unreadable registration');
    }
    if (signed.v !== 1) throw unknown('has an unknown registration version');
    if (signed.iss !== this.options.issuer) throw unknown('was registered with another authorization server');
    // Re-validated, not trusted: the rules may have tightened since the id was signed.
    return clientFromMetadata(clientId, 'dynamic', parseClientMetadata(signed.m), 'client_secret_basic');
  }

  /** Constant-time check of a presented client secret against the one derived for the client. */
  verifySecret(client: OAuthClient, presented: string): boolean {
    if (client.kind !== 'dynamic' || client.tokenEndpointAuthMethod === 'none') return false;
    const expected = Buffer.from(this.secretFor(client.clientId), 'utf8');
    const actual = Buffer.from(presented, 'utf8');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  private secretFor(clientId: string): string {
    return `${CLIENT_SECRET_PREFIX}${createHmac('sha256', this.secretKey).update(clientId).digest('base64url')}`;
  }
}

function unknown(why: string): OAuthError {
  return new OAuthError('invalid_client', `the client id ${why}`);
}
