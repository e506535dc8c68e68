/**
 * The order of checks for every MCP request, in one place. Each stage is a plain function over the
 * request context; the first that throws ends the request with its error and nothing after it runs.
 *
 *   front door (Host, Origin, per-IP limit, shape) ─▶ parse JSON-RPC ─▶ 2026 header/body agreement
 *   ─▶ authenticate ─▶ per-principal and per-tool limits ─▶ protocol version ─▶ concurrency ─▶ relay
 *   (the relay applies the authorization policy per message, with the upstream's catalog)
 *
 * The body is read (size- and depth-capped) before authentication because a 2026-07-28 request whose
 * headers disagree with its body must be refused before any other stage runs.
 */
import { type Authenticators, authenticate } from '../auth/authenticate.js';
import type { Config } from '../config/schema.js';
import { hostCheck } from '../http/check-host.js';
import { originCheck } from '../http/check-origin.js';
import type { LimitStages } from '../limits/stages.js';
import { checkRequestShape } from '../relay/check-request.js';
import { checkModernRequest } from '../relay/modern/envelope.js';
import { parseMessages } from '../relay/parse-messages.js';
import { checkProtocolVersion } from '../relay/protocol-version.js';
import { type RelayOptions, relay } from '../relay/streamable-http.js';
import type { RequestContext } from './context.js';

export type Stage = (ctx: RequestContext) => void | Promise<void>;

export function mcpPipeline(
  config: Config,
  publicUrl: URL,
  authenticators: Authenticators,
  limits: LimitStages,
  relayOptions: RelayOptions,
): readonly Stage[] {
  return [
    hostCheck({ listenHost: config.listen.host, publicUrl, allowedHosts: config.listen.allowedHosts }),
    originCheck({ listenHost: config.listen.host, publicUrl, allowedOrigins: config.listen.allowedOrigins }),
    limits.perIp,
    checkRequestShape,
    parseMessages(config.limits),
    checkModernRequest,
    authenticate(authenticators),
    limits.perPrincipal,
    limits.perTool,
    checkProtocolVersion,
    limits.concurrency,
    relay(relayOptions),
  ];
}

export async function runPipeline(stages: readonly Stage[], ctx: RequestContext): Promise<void> {
  for (const stage of stages) await stage(ctx);
}
