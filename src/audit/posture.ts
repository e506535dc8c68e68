/** The effective security posture recorded in gateway.start, derived from the config as loaded. */
import { authMethods } from '../config/auth-schema.js';
import type { Config, UpstreamConfig } from '../config/schema.js';
import { isLoopbackHost } from '../net/loopback.js';
import { redactUrl } from '../upstream/redact-url.js';
import type { AuthMethod, SecurityPosture } from './events.js';

const AUTH_METHOD: Readonly<Record<ReturnType<typeof authMethods>[number], AuthMethod>> = {
  apiKeys: 'api-key',
  basic: 'basic',
  jwt: 'jwt',
  introspection: 'introspection',
  oauth: 'oauth',
};

export function securityPosture(config: Config, limitsBackend: string): SecurityPosture {
  return {
    auth: config.auth.none ? ['none'] : authMethods(config.auth).map((m) => AUTH_METHOD[m]),
    tls: config.listen.tls ? 'native' : config.listen.trustedProxies.length > 0 ? 'proxy' : 'none',
    loopbackOnly: isLoopbackHost(config.listen.host),
    trustedProxies: config.listen.trustedProxies.length,
    allowedOrigins: config.listen.allowedOrigins.length,
    policy: {
      readOnly: config.policy.readOnly,
      rules: config.policy.rules.length,
      guardedTools: Object.keys(config.policy.tools).length,
    },
    limits: {
      backend: limitsBackend,
      perIp: config.limits.perIp,
      perPrincipal: config.limits.perPrincipal,
      tools: Object.keys(config.limits.tools).length,
    },
    upstreams: Object.fromEntries(
      Object.entries(config.upstreams).map(([name, u]: [string, UpstreamConfig]) => [
        name,
        u.url !== undefined
          ? { transport: 'http' as const, protocol: u.protocol, url: redactUrl(u.url) }
          : { transport: 'stdio' as const, protocol: u.protocol },
      ]),
    ),
    audit: {
      stdout: config.audit.stdout,
      store: config.audit.store,
      logArguments: config.audit.logArguments,
    },
    metrics: { enabled: config.metrics.enabled, tokenProtected: config.metrics.token !== undefined },
  };
}
