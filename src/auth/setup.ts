/** Builds the configured authenticators (and the API-key store they need) from the config. */
import type { AuthConfig } from '../config/auth-schema.js';
import type { Store } from '../store/store.js';
import { ApiKeys } from './api-keys.js';
import type { Authenticators } from './authenticate.js';
import { BasicUsers } from './basic.js';
import { Introspector } from './introspection.js';
import { JwtVerifier } from './jwt.js';

export interface AuthenticationSetup {
  readonly authenticators: Authenticators;
  readonly apiKeys: ApiKeys | undefined;
  close(): Promise<void>;
}

export function setupAuthentication(
  auth: AuthConfig,
  publicUrl: URL,
  keyStore: { store: Store; secret: Buffer } | undefined,
): AuthenticationSetup {
  const apiKeys = auth.apiKeys && keyStore ? new ApiKeys(keyStore.store.apiKeys, keyStore.secret) : undefined;
  return {
    authenticators: {
      none: auth.none === true,
      publicUrl,
      ...(apiKeys ? { apiKeys } : {}),
      ...(auth.basic ? { basic: new BasicUsers(auth.basic, auth.defaultScopes) } : {}),
      ...(auth.jwt ? { jwt: new JwtVerifier(auth.jwt) } : {}),
      ...(auth.introspection ? { introspection: new Introspector(auth.introspection) } : {}),
    },
    apiKeys,
    async close() {
      await apiKeys?.close();
    },
  };
}
