/**
 * The abuse-limit stages of the pipeline. Abuse is bounded per source IP first (never per a
 * caller-mintable id such as an OAuth client id or a session), then per principal, per tool where
 * configured, and by requests in flight per principal and per upstream.
 */
import type { Config } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { isRequest, type JsonRpcRequest } from '../core/jsonrpc.js';
import type { Stage } from '../pipeline/compose.js';
import type { AuthenticatedContext, RequestContext } from '../pipeline/context.js';
import { ConcurrencyGate } from './concurrency.js';
import type { Consumed, Limiter, RateLimiters } from './rate-limiters.js';

export interface LimitStages {
  readonly perIp: (ctx: RequestContext) => Promise<void>;
  /** The same per-IP budget, for endpoints outside the MCP pipeline (the OAuth endpoints). */
  readonly ip: (clientIp: string) => Promise<void>;
  readonly perPrincipal: (ctx: AuthenticatedContext) => Promise<void>;
  readonly perTool: (ctx: AuthenticatedContext) => Promise<void>;
  /** Holds a slot per request of the POST until its HTTP answer is done. */
  readonly concurrency: Stage<AuthenticatedContext>;
}

function refused(budget: string, limiter: Limiter, result: Consumed, what: string): GatewayError {
  const { points, seconds } = limiter.rate;
  return new GatewayError(
    'rate_limited',
    `too many requests ${what}: the limit is ${points} per ${seconds} s — retry in ${result.resetSeconds} s`,
    {
      retryAfter: result.resetSeconds,
      headers: {
        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it.
        'ratelimit-policy': `"${budget}";q=${points};w=${seconds}`,
        ratelimit: `"${budget}";r=0;t=${result.resetSeconds}`,
      },
      data: { limit: budget },
    },
  );
}

export function limitStages(limits: Config['limits'], limiters: RateLimiters): LimitStages {
  const perIp = limiters.create('ip', limits.perIp);
  const ip = async (clientIp: string) => {
    const result = await perIp.consume(clientIp);
    if (result.allowed) return;
    throw refused('ip', perIp, result, 'from this address');
  };
  const perPrincipal = limiters.create('principal', limits.perPrincipal);
  const perTool = new Map(
    Object.entries(limits.tools).map(([tool, rate]) => [tool, limiters.create(`tool:${tool}`, rate)]),
  );
  const principals = new ConcurrencyGate(limits.concurrency.perPrincipal, limits.concurrency.queueTimeout);
  const upstreams = new ConcurrencyGate(limits.concurrency.perUpstream, limits.concurrency.queueTimeout);

  return {
    perIp: (ctx) => ip(ctx.clientIp),
    ip,

    async perPrincipal(ctx) {
      const result = await perPrincipal.consume(ctx.principal.id);
      if (result.allowed) return;
      throw refused('principal', perPrincipal, result, 'for this caller');
    },

    async perTool(ctx) {
      if (perTool.size === 0) return;
      for (const message of ctx.messages ?? []) {
        if (!isRequest(message) || message.method !== 'tools/call') continue;
        const name = String(message.params?.name);
        // On the aggregated endpoint a limit on <upstream>.<tool> holds under the tool's exposed name.
        const origin = ctx.endpoint.names
          ? ctx.endpoint.names.tool(name)
          : { upstream: ctx.endpoint.upstream, name };
        if (!origin) continue;
        const tool = `${origin.upstream}.${origin.name}`;
        const limiter = perTool.get(tool);
        if (!limiter) continue;
        const result = await limiter.consume(`${ctx.principal.id}\0${tool}`);
        if (result.allowed) continue;
        throw refused(`tool:${tool}`, limiter, result, `to ${tool} for this caller`);
      }
    },

    async concurrency(ctx, next) {
      const requests = (ctx.messages ?? []).filter(
        (m) => isRequest(m) && m.method !== 'subscriptions/listen',
      ) as JsonRpcRequest[];
      const releases: (() => void)[] = [];
      const releaseAll = () => {
        for (const release of releases.splice(0)) release();
      };
      const refuse = (which: string) => {
        releaseAll();
        return new GatewayError(
          'concurrency_limit',
          `too many requests in flight ${which} — retry when one has finished`,
        );
      };
      for (const request of requests) {
        const mine = await principals.acquire(ctx.principal.id);
        if (!mine) throw refuse('for this caller');
        releases.push(mine);
        // A request on the aggregated endpoint takes a slot at each upstream it reaches.
        const targets = ctx.endpoint.names?.targets(request.method, request.params) ?? [
          ctx.endpoint.upstream,
        ];
        for (const upstream of targets) {
          const theirs = await upstreams.acquire(upstream);
          if (!theirs) throw refuse(`to upstream '${upstream}'`);
          releases.push(theirs);
        }
      }
      try {
        await next();
      } finally {
        releaseAll();
      }
    },
  };
}
