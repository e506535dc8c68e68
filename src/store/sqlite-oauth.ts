/**
 * The OAuth authorization server's state in the SQLite store (tables of migration 4). Every
 * check-and-set is one conditional UPDATE (a used code or refresh token is never used twice, even by
 * two processes sharing the file); list columns hold JSON arrays, like api_keys.
 */
import type Database from 'better-sqlite3';
import { sqliteStaticClientStore } from './sqlite-oauth-clients.js';
import { sqliteAuthorizationCodeStore } from './sqlite-oauth-codes.js';
import { sqliteConsentStore } from './sqlite-oauth-consents.js';
import { sqliteTokenStore } from './sqlite-oauth-tokens.js';
import type { OAuthStore } from './store.js';

export function sqliteOAuthStore(db: Database.Database): OAuthStore {
  return {
    clients: sqliteStaticClientStore(db),
    codes: sqliteAuthorizationCodeStore(db),
    tokens: sqliteTokenStore(db),
    consents: sqliteConsentStore(db),
  };
}
