/** Builds the configured authenticators (and the API-key store they need) from the config. */
import type { AuthConfig } from '../config/auth-schema.js';
import type { AuthorizationServer } from '../oauth/authorization-server.js';
import type { Store } from '../store/store.js';
import { ApiKeys } from './api-keys.js';
import type { Authenticators } from './authenticate.js';
import { type AttemptCounters, BasicUsers } from './basic.js';
import { Introspector } from './introspection.js';
import { JwtVerifier } from './jwt.js';

export interface AuthenticationSetup {
  readonly authenticators: Authenticators;
  readonly apiKeys: ApiKeys | undefined;
  readonly oauth: AuthorizationServer | undefined;
  close(): Promise<void>;
}

export function setupAuthentication(
  auth: AuthConfig,
  publicUrl: URL,
  keyStore: { store: Store; secret: Buffer } | undefined,
  /** Builds the gateway's own authorization server, whose sign-in checks the same Basic users. */
  makeOAuth?: (users: BasicUsers | undefined) => AuthorizationServer,
  /** Where failed Basic sign-ins are counted (Redis for a fleet); in memory without it. */
  attemptCounters?: AttemptCounters,
): AuthenticationSetup {
  const basic = auth.basic ? new BasicUsers(auth.basic, auth.defaultScopes, attemptCounters) : undefined;
  // Sign-in needs someone to sign in: the Basic users, an external OpenID provider, or both.
  const oauth = makeOAuth && (basic || auth.oauth?.login.oidc) ? makeOAuth(basic) : undefined;
  const apiKeys = auth.apiKeys && keyStore ? new ApiKeys(keyStore.store.apiKeys, keyStore.secret) : undefined;
  return {
    authenticators: {
      none: auth.none === true,
      publicUrl,
      ...(apiKeys ? { apiKeys } : {}),
      ...(basic ? { basic } : {}),
      ...(auth.jwt ? { jwt: new JwtVerifier(auth.jwt) } : {}),
      ...(auth.introspection ? { introspection: new Introspector(auth.introspection) } : {}),
      ...(oauth ? { oauth } : {}),
    },
    apiKeys,
    oauth,
    async close() {
      await apiKeys?.close();
    },
  };
}
