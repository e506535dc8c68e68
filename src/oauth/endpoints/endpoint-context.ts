/**
 * What every endpoint of the authorization server shares: its options, the request it handles, and
 * the collaborators the server builds once at startup (so the endpoints are plain functions of them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../../audit/audit-log.js';
import type { BasicUsers } from '../../auth/basic.js';
import type { OAuthConfig } from '../../config/oauth-schema.js';
import type { Limiter } from '../../limits/rate-limiters.js';
import type { LoopbackTestOverride } from '../client-metadata-document.js';
import type { OAuthClients } from '../clients.js';
import type { AuthorizationCodeStore, AuthorizationCodes } from '../codes.js';
import type { ConsentStore } from '../consents.js';
import type { Csrf } from '../csrf.js';
import type { StaticClientStore } from '../static-clients.js';
import type { TokenStore } from '../token-store.js';
import type { Tokens } from '../tokens.js';
import type { Transactions } from '../transactions.js';
import type { UpstreamLogin } from '../upstream-login.js';

/** Form bodies of /token, /revoke, /login and /consent are small; registration has its own cap. */
export const MAX_FORM_BYTES = 16 * 1024;

export interface OAuthStores {
  readonly clients: StaticClientStore;
  readonly codes: AuthorizationCodeStore;
  readonly tokens: TokenStore;
  readonly consents: ConsentStore;
}

export interface AuthorizationServerOptions {
  readonly config: OAuthConfig;
  readonly publicUrl: URL;
  /** The OAuth signing secret (auth.oauth.signingSecret, else the server secret). */
  readonly secret: Uint8Array;
  readonly stores: OAuthStores;
  /**
   * The Basic users (their password hashes): who may sign in locally when auth.oauth.login.local
   * is on. Absent with an identity provider only.
   */
  readonly users?: BasicUsers | undefined;
  /** policy.roles, to expand a user's roles into the scopes they may grant. */
  readonly roles: Readonly<Record<string, readonly string[]>>;
  /** scopes_supported: the policy's scope vocabulary. */
  readonly scopes: readonly string[];
  /** The MCP endpoint URLs tokens may be issued for (RFC 8707 resources). */
  readonly resources: readonly string[];
  readonly upstreams: readonly string[];
  /** Dynamic registrations per client IP (auth.oauth.registrationPerIp). */
  readonly registrationLimiter: Limiter;
  readonly audit?: AuditLog;
  /**
   * End-to-end tests only (startGateway's `testing` parameter): lets metadata documents be fetched
   * from a loopback server with its own CA. No config option or CLI flag sets it.
   */
  readonly clientMetadataDocumentsTestOverride?: LoopbackTestOverride;
}

/** What an OAuth endpoint sees of its request. */
export interface OAuthRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly clientIp: string;
  readonly secure: boolean;
  readonly requestId: string;
}

export type Handler = (r: OAuthRequest) => Promise<void>;

/** The server's collaborators, built once from its options. */
export interface EndpointContext {
  readonly options: AuthorizationServerOptions;
  readonly issuer: string;
  readonly clients: OAuthClients;
  readonly codes: AuthorizationCodes;
  readonly tokens: Tokens;
  readonly csrf: Csrf;
  readonly transactions: Transactions;
  readonly upstream: UpstreamLogin | undefined;
  /** Local sign-in is offered: configured on, and there are users to check. */
  readonly localLogin: boolean;
}
