/**
 * Pre-registered clients (`registration: static`, added with `portcullis clients add`): the
 * operator decides who may connect, and a confidential client's secret is what gates it (the Loomio
 * seed's posture for confidential data). The secret is shown once and stored only as a scrypt hash
 * (src/auth/passwords.ts), so a leaked store yields no usable secret.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { CLIENT_SECRET_PREFIX } from './client-id.js';
import type { GrantType, OAuthClient, TokenEndpointAuthMethod } from './client-metadata.js';
import { OAuthError } from './errors.js';
import { checkRedirectUri } from './redirect-uri.js';

export const STATIC_CLIENT_PREFIX = 'pcc_';
const STATIC_CLIENT_ID = /^pcc_[0-9a-f]{24}$/;

/** One pre-registered client as the store keeps it. */
export interface StaticClientRecord {
  readonly clientId: string;
  readonly name: string;
  /** `$scrypt$…` of the client secret; null for a public client (PKCE only). */
  readonly secretHash: string | null;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  /** Scopes the client may be granted at most; null: whatever the user may grant. */
  readonly scopes: readonly string[] | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** What the store must provide for static clients (SQLite table `oauth_clients`). */
export interface StaticClientStore {
  insert(record: StaticClientRecord): Promise<void>;
  find(clientId: string): Promise<StaticClientRecord | undefined>;
  list(): Promise<StaticClientRecord[]>;
  /** Marks the client revoked; false when no active client has this id. */
  revoke(clientId: string, at: number): Promise<boolean>;
}

export interface AddStaticClient {
  readonly name: string;
  readonly redirectUris: readonly string[];
  /** none: a public client (PKCE only, no secret). Default client_secret_basic. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  readonly grantTypes?: readonly GrantType[];
  readonly scopes?: readonly string[];
}

export function isStaticClientId(clientId: string): boolean {
  return clientId.startsWith(STATIC_CLIENT_PREFIX);
}

export class StaticClients {
  constructor(
    private readonly store: StaticClientStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers a client; the secret (for a confidential one) is returned here and never again. */
  async add(options: AddStaticClient): Promise<{ record: StaticClientRecord; secret?: string }> {
    if (options.name.trim() === '')
      throw new OAuthError('invalid_client_metadata', 'the client name is empty');
    if (options.redirectUris.length === 0) {
      throw new OAuthError('invalid_redirect_uri', 'a client needs at least one redirect URI');
    }
    const redirectUris = [...new Set(options.redirectUris.map(checkRedirectUri))];
    const method = options.tokenEndpointAuthMethod ?? 'client_secret_basic';
    const secret =
      method === 'none' ? undefined : `${CLIENT_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: StaticClientRecord = {
      clientId: `${STATIC_CLIENT_PREFIX}${randomBytes(12).toString('hex')}`,
      name: options.name.trim(),
      secretHash: secret === undefined ? null : await hashPassword(secret),
      tokenEndpointAuthMethod: method,
      redirectUris,
      grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
      scopes: options.scopes ? [...options.scopes] : null,
      createdAt: this.now(),
      revokedAt: null,
    };
    await this.store.insert(record);
    return secret === undefined ? { record } : { record, secret };
  }

  /** The client with this id; invalid_client when it is unknown or revoked. */
  async client(clientId: string): Promise<OAuthClient> {
    const record = await this.find(clientId);
    return {
      clientId: record.clientId,
      kind: 'static',
      redirectUris: record.redirectUris,
      tokenEndpointAuthMethod: record.tokenEndpointAuthMethod,
      grantTypes: record.grantTypes,
      clientName: record.name,
      ...(record.scopes !== null ? { scopes: record.scopes } : {}),
    };
  }

  /** Checks a presented secret against the stored hash (scrypt, constant-time compare). */
  async verifySecret(client: OAuthClient, presented: string): Promise<boolean> {
    if (client.kind !== 'static') return false;
    const record = await this.find(client.clientId);
    if (record.secretHash === null) return false;
    return verifyPassword(presented, record.secretHash);
  }

  list(): Promise<StaticClientRecord[]> {
    return this.store.list();
  }

  revoke(clientId: string): Promise<boolean> {
    return this.store.revoke(clientId, this.now());
  }

  private async find(clientId: string): Promise<StaticClientRecord> {
    if (!STATIC_CLIENT_ID.test(clientId))
      throw new OAuthError('invalid_client', 'the client id is not known');
    const record = await this.store.find(clientId);
    if (!record) throw new OAuthError('invalid_client', 'the client id is not known');
    if (record.revokedAt !== null) throw new OAuthError('invalid_client', 'the client has been revoked');
    return record;
  }
}

/** In-memory StaticClientStore, for tests and for a gateway without a store. */
export class MemoryStaticClientStore implements StaticClientStore {
  private readonly records = new Map<string, StaticClientRecord>();

  async insert(record: StaticClientRecord): Promise<void> {
    if (this.records.has(record.clientId)) throw new Error(`client ${record.clientId} already exists`);
    this.records.set(record.clientId, record);
  }

  async find(clientId: string): Promise<StaticClientRecord | undefined> {
    return this.records.get(clientId);
  }

  async list(): Promise<StaticClientRecord[]> {
    return [...this.records.values()];
  }

  async revoke(clientId: string, at: number): Promise<boolean> {
    const record = this.records.get(clientId);
    if (!record || record.revokedAt !== null) return false;
    this.records.set(clientId, { ...record, revokedAt: at });
    return true;
  }
}
