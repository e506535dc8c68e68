/**
 * Authentication: the Basic users (with the bootstrap `admin` when asked for), API keys, external
 * tokens, and the gateway's own authorization server, plus the first admin key on a first start.
 */
import { resolve } from 'node:path';
import { keyCreatedEvent } from '../audit/admin-events.js';
import { BOOTSTRAP_ADMIN, BOOTSTRAP_ADMIN_ROLES, bootstrapAdmin } from '../auth/bootstrap-admin.js';
import { type AuthenticationSetup, setupAuthentication } from '../auth/setup.js';
import type { LoadedConfig } from '../config/load.js';
import { resourceUrl } from '../http/resource-url.js';
import { AuthorizationServer } from '../oauth/authorization-server.js';
import type { LoopbackTestOverride } from '../oauth/client-metadata-document.js';
import type { Policy } from '../policy/policy.js';
import type { Store } from '../store/store.js';
import type { Closer } from './closer.js';
import { endpointPaths } from './endpoints.js';
import type { Services } from './services.js';

export interface GatewayAuth {
  readonly auth: AuthenticationSetup;
  /** The admin API key created on a first start, to be shown once. */
  readonly bootstrapKey: string | undefined;
  /** The password of the `admin` user created on a first start, to be shown once. */
  readonly bootstrapPassword: string | undefined;
}

export async function openAuth(
  loaded: LoadedConfig,
  services: Services,
  context: {
    readonly publicUrl: URL;
    readonly policy: Policy;
    readonly scopes: readonly string[];
    readonly clientMetadataDocuments?: LoopbackTestOverride;
  },
  closer: Closer,
): Promise<GatewayAuth> {
  const { config, baseDir } = loaded;
  const { keyStore, limiters, auditLog } = services;
  const { publicUrl, policy, scopes } = context;
  const names = Object.keys(config.upstreams);
  // auth.basic.bootstrapAdmin: the `admin` user joins the configured ones (its hash beside the store).
  const admin =
    config.auth.basic?.bootstrapAdmin && !Object.hasOwn(config.auth.basic.users, BOOTSTRAP_ADMIN)
      ? await bootstrapAdmin(resolve(baseDir, config.store.sqlite))
      : undefined;
  const authConfig =
    admin && config.auth.basic
      ? {
          ...config.auth,
          basic: {
            ...config.auth.basic,
            users: {
              ...config.auth.basic.users,
              [BOOTSTRAP_ADMIN]: { passwordHash: admin.passwordHash, roles: [...BOOTSTRAP_ADMIN_ROLES] },
            },
          },
        }
      : config.auth;
  const oauthConfig = config.auth.oauth;
  const auth = closer.add(
    'authentication',
    setupAuthentication(
      authConfig,
      publicUrl,
      keyStore,
      oauthConfig && keyStore
        ? (users) =>
            new AuthorizationServer({
              config: oauthConfig,
              publicUrl,
              secret: oauthConfig.signingSecret
                ? Buffer.from(oauthConfig.signingSecret, 'utf8')
                : keyStore.secret,
              stores: keyStore.store.oauth,
              users,
              roles: policy.roles,
              scopes,
              resources: endpointPaths(config).map((path) => resourceUrl(publicUrl, path)),
              upstreams: names,
              registrationLimiter: limiters.create('oauth-register', oauthConfig.registrationPerIp),
              audit: auditLog,
              ...(context.clientMetadataDocuments
                ? { clientMetadataDocumentsTestOverride: context.clientMetadataDocuments }
                : {}),
            })
        : undefined,
      (name, points, seconds) => limiters.counter(name, points, seconds),
    ),
    (a) => a.close(),
  );
  if (auth.oauth && keyStore) {
    // Expired codes, tokens and revocations are only kept to be refused; clear them out now and then.
    const purge = setInterval(() => void purgeExpired(keyStore.store), 10 * 60_000);
    purge.unref();
    closer.add('oauth purge', purge, clearInterval);
  }
  const bootstrap =
    auth.apiKeys && config.auth.apiKeys?.bootstrapAdmin && (await keyStore?.store.apiKeys.count()) === 0
      ? await auth.apiKeys.create({ name: 'admin', scopes: ['*'], expiresAt: null })
      : undefined;
  if (bootstrap) auditLog.record(keyCreatedEvent(bootstrap.record, { via: 'gateway' }));
  return { auth, bootstrapKey: bootstrap?.key, bootstrapPassword: admin?.password };
}

async function purgeExpired(store: Store): Promise<void> {
  const now = Date.now();
  await Promise.all([store.oauth.codes.purgeExpired(now), store.oauth.tokens.purgeExpired(now)]).catch(() => {
    // A failed purge is retried at the next interval; nothing depends on it.
  });
}
