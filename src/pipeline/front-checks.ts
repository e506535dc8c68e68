/** The checks every request on an MCP or admin endpoint passes first: Host, Origin, the per-IP limit. */
import type { Config } from '../config/schema.js';
import { hostCheck } from '../http/check-host.js';
import { originCheck } from '../http/check-origin.js';
import type { LimitStages } from '../limits/stages.js';
import { check, type Stage } from './compose.js';
import type { RequestContext } from './context.js';

export function frontChecks(config: Config, publicUrl: URL, limits: LimitStages): Stage<RequestContext>[] {
  const { host: listenHost, allowedHosts, allowedOrigins } = config.listen;
  return [
    check(hostCheck({ listenHost, publicUrl, allowedHosts })),
    check(originCheck({ listenHost, publicUrl, allowedOrigins })),
    check(limits.perIp),
  ];
}
