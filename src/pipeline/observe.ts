/**
 * The outermost stage of the MCP pipeline: the request's trace span, audit trail and metrics. Its
 * work on the way back records how the request ended, whichever stage ended it.
 */
import { type AuditServices, RequestAudit } from '../audit/request-audit.js';
import { toGatewayError } from '../core/errors.js';
import type { Tracing } from '../observability/tracing.js';
import type { Stage } from './compose.js';
import type { RequestContext } from './context.js';

export function observe(
  audit: AuditServices | undefined,
  tracing: Tracing | undefined,
): Stage<RequestContext> {
  return async function observeRequest(ctx, next) {
    const { req, res, endpoint } = ctx;
    const span = tracing?.enabled
      ? tracing.startRequestSpan({
          method: req.method ?? 'GET',
          route: endpoint.path,
          requestId: ctx.requestId,
          clientIp: ctx.clientIp,
          upstream: endpoint.upstream,
        })
      : undefined;
    if (span) ctx.span = span;
    if (audit) ctx.audit = new RequestAudit(audit, ctx);
    try {
      await next();
      span?.end(res.statusCode);
    } catch (err) {
      const error = toGatewayError(err);
      ctx.audit?.failed(error);
      span?.end(error.status, error.code);
      audit?.metrics?.countRequest(endpoint.upstream, req.method, error.status);
      throw error;
    } finally {
      ctx.audit?.ended();
    }
    audit?.metrics?.countRequest(endpoint.upstream, req.method, res.statusCode);
  };
}
