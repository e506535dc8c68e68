/**
 * The rows of every table as both back ends return them, and the records they stand for. SQLite
 * keeps a list column as JSON text, PostgreSQL as text[]; `list` reads either, so one mapper per
 * table serves both stores. Times are epoch milliseconds (PostgreSQL BIGINT is read as a number).
 */
import type { AuditRecord } from '../audit/chain.js';
import type { GrantType, TokenEndpointAuthMethod } from '../oauth/client-metadata.js';
import type { AuthorizationCodeRecord } from '../oauth/codes.js';
import type { ConsentRecord } from '../oauth/consents.js';
import type { StaticClientRecord } from '../oauth/static-clients.js';
import type { GrantRecord, RefreshTokenRecord } from '../oauth/token-store.js';
import type { ApiKeyRecord, PinKind, PinRecord } from './store.js';

/** A list column: JSON text (SQLite) or an array (PostgreSQL). */
export type ListColumn = string | string[];

export function list<T extends string = string>(value: ListColumn): T[] {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T[];
}

export interface ApiKeyRow {
  id: string;
  name: string;
  hash: string;
  scopes: ListColumn;
  roles: ListColumn;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export const toApiKey = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  hash: row.hash,
  scopes: list(row.scopes),
  roles: list(row.roles),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export interface AuditRow {
  seq: number;
  time: number;
  type: string;
  principal: string | null;
  principal_name: string | null;
  upstream: string | null;
  tool: string | null;
  outcome: string | null;
  json: string;
  prev_hash: string;
  hash: string;
}

export const toAuditRecord = (row: AuditRow): AuditRecord => ({
  seq: row.seq,
  time: row.time,
  type: row.type,
  principal: row.principal,
  principalName: row.principal_name,
  upstream: row.upstream,
  tool: row.tool,
  outcome: row.outcome,
  json: row.json,
  prevHash: row.prev_hash,
  hash: row.hash,
});

export interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string | null;
  token_endpoint_auth_method: string;
  redirect_uris: ListColumn;
  grant_types: ListColumn;
  scopes: ListColumn | null;
  created_at: number;
  revoked_at: number | null;
}

export const toClient = (row: ClientRow): StaticClientRecord => ({
  clientId: row.client_id,
  name: row.name,
  secretHash: row.secret_hash,
  tokenEndpointAuthMethod: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
  redirectUris: list(row.redirect_uris),
  grantTypes: list<GrantType>(row.grant_types),
  scopes: row.scopes === null ? null : list(row.scopes),
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export interface CodeRow {
  hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  resource: string;
  scopes: ListColumn;
  subject: string;
  grant_id: string;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

export const toCode = (row: CodeRow): AuthorizationCodeRecord => ({
  hash: row.hash,
  clientId: row.client_id,
  redirectUri: row.redirect_uri,
  codeChallenge: row.code_challenge,
  resource: row.resource,
  scopes: list(row.scopes),
  subject: row.subject,
  grantId: row.grant_id,
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
});

export interface ConsentRow {
  subject: string;
  client_id: string;
  scopes: ListColumn;
  granted_at: number;
}

export const toConsent = (row: ConsentRow): ConsentRecord => ({
  subject: row.subject,
  clientId: row.client_id,
  scopes: list(row.scopes),
  grantedAt: row.granted_at,
});

export interface GrantRow {
  id: string;
  client_id: string;
  subject: string;
  resource: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export const toGrant = (row: GrantRow): GrantRecord => ({
  id: row.id,
  clientId: row.client_id,
  subject: row.subject,
  resource: row.resource,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

export interface RefreshTokenRow {
  hash: string;
  grant_id: string;
  client_id: string;
  subject: string;
  resource: string;
  scopes: ListColumn;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

export const toRefreshToken = (row: RefreshTokenRow): RefreshTokenRecord => ({
  hash: row.hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  subject: row.subject,
  resource: row.resource,
  scopes: list(row.scopes),
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

export interface PinRow {
  upstream: string;
  kind: PinKind;
  name: string;
  pinned_hash: string | null;
  pinned_definition: string | null;
  pinned_at: number | null;
  seen_hash: string;
  seen_definition: string;
  seen_at: number;
  rejected_hash: string | null;
}

export const toPin = (row: PinRow): PinRecord => ({
  upstream: row.upstream,
  kind: row.kind,
  name: row.name,
  pinnedHash: row.pinned_hash,
  pinnedDefinition: row.pinned_definition,
  pinnedAt: row.pinned_at,
  seenHash: row.seen_hash,
  seenDefinition: row.seen_definition,
  seenAt: row.seen_at,
  rejectedHash: row.rejected_hash,
});

/** Only a pin key's own fields: callers may pass a whole PinRecord as the key. */
export const pinKeyParams = (key: { upstream: string; kind: PinKind; name: string }) => ({
  upstream: key.upstream,
  kind: key.kind,
  name: key.name,
});
