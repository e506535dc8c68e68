/** What the gateway warns about at start: rules nobody can satisfy, and risky postures. */
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { isLoopbackHost } from '../net/loopback.js';
import { offerCache } from '../policy/inspect.js';
import type { Policy } from '../policy/policy.js';
import { checkRulePatterns, checkRuleScopes, keyGrants } from '../policy/startup-check.js';
import { seedAggregates } from './aggregate-seed.js';
import type { Channels } from './channels.js';
import type { Services } from './services.js';

export async function startupChecks(
  loaded: LoadedConfig,
  services: Services,
  channels: Channels,
  policy: Policy,
  logger: Logger,
): Promise<void> {
  const { config } = loaded;
  const { keyStore } = services;
  const grants = keyStore ? keyGrants(await keyStore.store.apiKeys.list(), policy) : [];
  checkRuleScopes(config, policy, grants, logger);
  // One listing of each upstream serves both: in the background, the port does not wait for it.
  const offerOf = offerCache(config.upstreams, channels.connectors, logger);
  checkRulePatterns(config, policy, offerOf, logger);
  void seedAggregates(channels.aggregates, offerOf, logger);
  const { host, trustedProxies } = config.listen;
  if (!services.tls && !isLoopbackHost(host) && trustedProxies.length === 0) {
    logger.warn(
      `listening on ${host} over plain HTTP: credentials would cross the network in clear — set listen.tls, or listen.trustedProxies for a TLS-terminating proxy`,
    );
  }
  if (config.policy.readOnly) {
    logger.warn('read-only mode: tools that are not read-only are removed from every catalog and refused');
  }
  if (config.auth.none) {
    logger.warn(
      'authentication is OFF (auth.none): anyone who can reach this loopback port can use every upstream',
    );
  }
  if (services.metrics && !config.metrics.token && !isLoopbackHost(host)) {
    logger.warn(
      '/metrics is served without a token on a non-loopback address — set metrics.token, or metrics.enabled: false',
    );
  }
}
