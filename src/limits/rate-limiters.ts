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

const CONNECT_TIMEOUT_MS = 2000;

export interface Consumed {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Seconds until the window has room again. */
  readonly resetSeconds: number;
}

export class RateLimiters {
  private redisReady = false;
  /** What the log last said about Redis, so that each change is logged once, not each retry. */
  private announced: 'redis' | 'redis-unavailable' | undefined;
  private closing = false;

  private constructor(private readonly redis: Redis | undefined) {}

  /**
   * Memory-only limiters, or Redis-backed ones (ioredis is loaded only when a fleet uses it). With
   * Redis, resolves once the first connection attempt has succeeded or failed (at most a few
   * seconds), so that the state reported at start is the real one; the gateway starts either way.
   */
  static async create(redisUrl: string | undefined, logger: Logger): Promise<RateLimiters> {
    if (!redisUrl) return new RateLimiters(undefined);
    const { Redis } = await import('ioredis');
    // No offline queue: while Redis is down a command fails at once and the insurance limiter answers.
    const redis = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 500, 5000),
    });
    const limiters = new RateLimiters(redis);
    const firstOutcome = new Promise<void>((settle) => {
      const timer = setTimeout(settle, CONNECT_TIMEOUT_MS + 500);
      const done = () => {
        clearTimeout(timer);
        settle();
      };
      redis.once('ready', done);
      redis.once('error', done);
      redis.once('close', done);
    });
    redis.on('ready', () => {
      limiters.redisReady = true;
      if (limiters.announced === 'redis') return;
      limiters.announced = 'redis';
      logger.info('rate limits are shared through Redis');
    });
    // A lost connection (close) and a failed attempt (error) both mean: this instance alone, now.
    const fellBack = (reason: string) => {
      limiters.redisReady = false;
      if (limiters.closing || limiters.announced === 'redis-unavailable') return;
      limiters.announced = 'redis-unavailable';
      logger.warn({ err: reason }, 'Redis is unreachable: rate limits fall back to this instance alone');
    };
    redis.on('error', (err: Error) => fellBack(err.message));
    redis.on('close', () => fellBack('the connection to Redis closed'));
    redis.on('end', () => {
      limiters.redisReady = false;
    });
    await firstOutcome;
    return limiters;
  }

  get state(): SharedState {
    if (!this.redis) return 'memory';
    return this.redisReady ? 'redis' : 'redis-unavailable';
  }

  /** A limiter for one budget (`name` separates keys of different budgets in Redis). */
  create(name: string, rate: Rate): Limiter {
    return new Limiter(name, rate, this.counter(name, rate.points, rate.seconds));
  }

  /**
   * The counter under a limiter, for callers that count something other than requests (failed
   * sign-ins): shared through Redis when the fleet has it, with the same in-memory insurance.
   */
  counter(name: string, points: number, seconds: number): RateLimiterAbstract {
    const options = { keyPrefix: `portcullis:${name}`, points, duration: seconds };
    const memory = new RateLimiterMemory(options);
    return this.redis
      ? new RateLimiterRedis({
          ...options,
          storeClient: this.redis,
          insuranceLimiter: memory,
          rejectIfRedisNotReady: true,
        })
      : memory;
  }

  async close(): Promise<void> {
    this.closing = true;
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
