/**
 * The order of checks for the admin API: the same front-door checks and authentication as MCP
 * requests, then the admin scope (src/http/admin-api.ts).
 */
import type { AuditServices } from '../audit/request-audit.js';
import { type Authenticators, authenticate } from '../auth/authenticate.js';
import type { Config } from '../config/schema.js';
import { type AdminApiOptions, adminApi } from '../http/admin-api.js';
import type { LimitStages } from '../limits/stages.js';
import { check, compose } from './compose.js';
import { authenticated, type RequestContext } from './context.js';
import { frontChecks } from './front-checks.js';
import { observe } from './observe.js';

export interface AdminPipelineOptions {
  readonly config: Config;
  readonly publicUrl: URL;
  readonly authenticators: Authenticators;
  readonly limits: LimitStages;
  readonly api: AdminApiOptions;
  readonly audit?: AuditServices;
}

export function adminPipeline(options: AdminPipelineOptions): (ctx: RequestContext) => Promise<void> {
  const { config, publicUrl, limits } = options;
  const serve = adminApi(options.api);
  return compose<RequestContext>([
    observe(options.audit, undefined),
    ...frontChecks(config, publicUrl, limits),
    check(authenticate(options.authenticators)),
    authenticated(check(limits.perPrincipal)),
    authenticated(check(serve)),
  ]);
}
