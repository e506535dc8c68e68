/**
 * The order of checks for every MCP request, in one place. Each stage is `(ctx, next)`: checks run
 * before the rest of the pipeline, work on the way back after it; the first stage that throws ends
 * the request with its error and nothing after it runs.
 *
 *   observe (span, audit, metrics) ─▶ Host ─▶ Origin ─▶ per-IP limit ─▶ request shape ─▶ parse JSON-RPC
 *   ─▶ 2026 header/body agreement ─▶ authenticate ─▶ per-principal and per-tool limits ─▶ protocol
 *   version ─▶ concurrency ─▶ transport (2025 sessions or 2026 stateless; the policy is applied per
 *   message with the upstream's catalog)
 *
 * The body is read (size- and depth-capped) before authentication because a 2026-07-28 request whose
 * headers disagree with its body must be refused before any other stage runs.
 */
import type { AuditServices } from '../audit/request-audit.js';
import { type Authenticators, authenticate } from '../auth/authenticate.js';
import type { Config } from '../config/schema.js';
import type { LimitStages } from '../limits/stages.js';
import type { Tracing } from '../observability/tracing.js';
import { checkRequestShape } from '../relay/check-request.js';
import { checkModernRequest } from '../relay/modern/envelope.js';
import { parseMessages } from '../relay/parse-messages.js';
import { checkProtocolVersion } from '../relay/protocol-version.js';
import { type RelayOptions, relay } from '../relay/streamable-http.js';
import { check, compose } from './compose.js';
import { authenticated, type RequestContext, responseDone } from './context.js';
import { frontChecks } from './front-checks.js';
import { observe } from './observe.js';

export interface McpPipelineOptions {
  readonly config: Config;
  readonly publicUrl: URL;
  readonly authenticators: Authenticators;
  readonly limits: LimitStages;
  readonly relay: RelayOptions;
  readonly audit?: AuditServices;
  readonly tracing?: Tracing;
}

export function mcpPipeline(options: McpPipelineOptions): (ctx: RequestContext) => Promise<void> {
  const { config, publicUrl, limits } = options;
  const transport = relay(options.relay);
  return compose<RequestContext>([
    observe(options.audit, options.tracing),
    ...frontChecks(config, publicUrl, limits),
    check(checkRequestShape),
    check(parseMessages(config.limits)),
    check(checkModernRequest),
    check(authenticate(options.authenticators)),
    authenticated(check(limits.perPrincipal)),
    authenticated(check(limits.perTool)),
    check(checkProtocolVersion),
    authenticated(limits.concurrency),
    authenticated(async (ctx) => {
      await transport(ctx);
      // The request ends when its answer does: a POST's SSE stream or a GET stream can outlast the call.
      await responseDone(ctx.res);
    }),
  ]);
}
