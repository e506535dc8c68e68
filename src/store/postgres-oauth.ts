/**
 * The OAuth authorization server's state in the PostgreSQL store. Every check-and-set is one
 * conditional statement, so a code or refresh token is used once across every instance sharing
 * the database, and a revocation is seen by all of them on their next check.
 */
import { postgresStaticClientStore } from './postgres-oauth-clients.js';
import { postgresAuthorizationCodeStore } from './postgres-oauth-codes.js';
import { postgresConsentStore } from './postgres-oauth-consents.js';
import { postgresTokenStore } from './postgres-oauth-tokens.js';
import type { Queryable } from './postgres-pool.js';
import type { OAuthStore } from './store.js';

export function postgresOAuthStore(db: Queryable): OAuthStore {
  return {
    clients: postgresStaticClientStore(db),
    codes: postgresAuthorizationCodeStore(db),
    tokens: postgresTokenStore(db),
    consents: postgresConsentStore(db),
  };
}
