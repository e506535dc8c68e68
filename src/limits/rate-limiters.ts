/**
 * Rate limits on rate-limiter-flexible: in memory on one instance, in Redis when a fleet shares
 * them. With Redis, each limiter carries an in-memory insurance limiter: if Redis is unreachable
 * the gateway keeps enforcing the same limits per instance (never failing open, never failing
 * every request), and says so in its log, /readyz and metrics.
 */
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Logger } from '../log/logger.js';
import type { Rate } from './rate.js';

export type SharedState = 'memory' | 'redis' | 'redis-unavailable';

export interface Consumed {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Seconds until the window has room again. */
  readonly resetSeconds: number;
}

export class RateLimiters {
  private redisReady = false;

  private constructor(private readonly redis: Redis | undefined) {}

  /** Memory-only limiters, or Redis-backed ones (ioredis is loaded only when a fleet uses it). */
  static async create(redisUrl: string | undefined, logger: Logger): Promise<RateLimiters> {
    if (!redisUrl) return new RateLimiters(undefined);
    const { Redis } = await import('ioredis');
    // No offline queue: while Redis is down a command fails at once and the insurance limiter answers.
    const redis = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 500, 5000),
    });
    const limiters = new RateLimiters(redis);
    redis.on('ready', () => {
      if (!limiters.redisReady) logger.info('rate limits are shared through Redis');
      limiters.redisReady = true;
    });
    redis.on('error', (err: Error) => {
      if (limiters.redisReady)
        logger.warn(
          { err: err.message },
          'Redis is unreachable: rate limits fall back to this instance alone',
        );
      limiters.redisReady = false;
    });
    redis.on('end', () => {
      limiters.redisReady = false;
    });
    return limiters;
  }

  get state(): SharedState {
    if (!this.redis) return 'memory';
    return this.redisReady ? 'redis' : 'redis-unavailable';
  }

  /** A limiter for one budget (`name` separates keys of different budgets in Redis). */
  create(name: string, rate: Rate): Limiter {
    const options = { keyPrefix: `portcullis:${name}`, points: rate.points, duration: rate.seconds };
    const memory = new RateLimiterMemory(options);
    const limiter: RateLimiterAbstract = this.redis
      ? new RateLimiterRedis({
          ...options,
          storeClient: this.redis,
          insuranceLimiter: memory,
          rejectIfRedisNotReady: true,
        })
      : memory;
    return new Limiter(name, rate, limiter);
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}

export class Limiter {
  constructor(
    readonly name: string,
    readonly rate: Rate,
    private readonly limiter: RateLimiterAbstract,
  ) {}

  async consume(key: string): Promise<Consumed> {
    try {
      const res = await this.limiter.consume(key);
      return {
        allowed: true,
        remaining: res.remainingPoints,
        resetSeconds: Math.ceil(res.msBeforeNext / 1000),
      };
    } catch (err) {
      if (err instanceof RateLimiterRes)
        return {
          allowed: false,
          remaining: 0,
          resetSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
        };
      throw err;
    }
  }
}
