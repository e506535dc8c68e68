/**
 * The abuse-limit stages of the pipeline. Abuse is bounded per source IP first (never per a
 * caller-mintable id such as an OAuth client id or a session), then per principal, per tool where
 * configured, and by requests in flight per principal and per upstream.
 */
import type { Config } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { isRequest } from '../core/jsonrpc.js';
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
        const tool = `${ctx.endpoint.upstream}.${String(message.params?.name)}`;
        const limiter = perTool.get(tool);
        if (!limiter) continue;
        const result = await limiter.consume(`${ctx.principal.id}\0${tool}`);
        if (result.allowed) continue;
        throw refused(`tool:${tool}`, limiter, result, `to ${tool} for this caller`);
      }
    },

    async concurrency(ctx, next) {
      const count = (ctx.messages ?? []).filter(
        (m) => isRequest(m) && m.method !== 'subscriptions/listen',
      ).length;
      const releases: (() => void)[] = [];
      const releaseAll = () => {
        for (const release of releases.splice(0)) release();
      };
      for (let i = 0; i < count; i++) {
        const mine = await principals.acquire(ctx.principal.id);
        const theirs = mine ? await upstreams.acquire(ctx.endpoint.upstream) : undefined;
        if (mine) releases.push(mine);
        if (theirs) releases.push(theirs);
        if (!mine || !theirs) {
          releaseAll();
          const which = mine ? `to upstream '${ctx.endpoint.upstream}'` : 'for this caller';
          throw new GatewayError(
            'concurrency_limit',
            `too many requests in flight ${which} — retry when one has finished`,
          );
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
