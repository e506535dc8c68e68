/**
 * Multi-user HTTP Basic (the Nextcloud seed's per-user scopes). Passwords are checked against the
 * config's scrypt hashes; failed attempts are limited per client IP and per user name (counted in
 * Redis when a fleet shares it); a correct
 * pair is remembered for a minute under an HMAC of it, so a client sending Basic on every request
 * does not pay a 100 ms scrypt each time. Basic is refused over plain HTTP unless the client is on
 * loopback or came through a trusted TLS-terminating proxy.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type RateLimiterAbstract, RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import type { AuthConfig } from '../config/auth-schema.js';
import type { Principal } from '../core/principal.js';
import { isLoopbackHost } from '../net/loopback.js';
import { AuthError } from './auth-error.js';
import { hashPassword, verifyPassword } from './passwords.js';

type BasicConfig = NonNullable<AuthConfig['basic']>;

const REMEMBER_MS = 60_000;

export interface BasicRequest {
  readonly username: string;
  readonly password: string;
  readonly clientIp: string;
  /** The connection is TLS, here or at a trusted proxy. */
  readonly secure: boolean;
}

/** Makes the counters of failed attempts: in memory by default, in Redis for a fleet (RateLimiters.counter). */
export type AttemptCounters = (name: string, points: number, seconds: number) => RateLimiterAbstract;

const inMemory: AttemptCounters = (name, points, duration) =>
  new RateLimiterMemory({ keyPrefix: name, points, duration });

export class BasicUsers {
  private readonly perIp: RateLimiterAbstract;
  private readonly perUser: RateLimiterAbstract;
  private readonly remembered = new LRUCache<string, Principal>({ max: 1000, ttl: REMEMBER_MS });
  private readonly cacheKey = randomBytes(32);
  /** Verified against when the user does not exist, so a miss costs what a hit costs. */
  private readonly decoy = hashPassword(randomBytes(16).toString('hex'));

  constructor(
    private readonly config: BasicConfig,
    private readonly defaultScopes: readonly string[],
    /** Shared by every instance of a fleet, so N instances do not give a guesser N times the attempts. */
    counters: AttemptCounters = inMemory,
  ) {
    const duration = Math.ceil(config.failedAttempts.window / 1000);
    this.perIp = counters('basic-ip', config.failedAttempts.perIp, duration);
    this.perUser = counters('basic-user', config.failedAttempts.perUser, duration);
  }

  async verify(request: BasicRequest): Promise<Principal> {
    if (!request.secure && !isLoopbackHost(request.clientIp)) {
      throw new AuthError(
        'invalid_request',
        'Basic credentials are refused over plain HTTP from another machine: the password crosses the network in clear — serve the gateway over HTTPS (or behind a TLS proxy listed in listen.trustedProxies), and change that password',
        { status: 403 },
      );
    }
    // Throttling comes first: a remembered pair must not become an unthrottled guessing oracle.
    await this.refuseIfThrottled(request);
    // JSON keeps the boundary: with a NUL joining them, "a\0" + "x" and "a" + "\0x" were one pair.
    const pair = createHmac('sha256', this.cacheKey)
      .update(JSON.stringify([request.username, request.password]))
      .digest('base64url');
    const known = this.remembered.get(pair);
    if (known) return known;
    const user = Object.hasOwn(this.config.users, request.username)
      ? this.config.users[request.username]
      : undefined;
    const ok = await verifyPassword(request.password, user?.passwordHash ?? (await this.decoy));
    if (!user || !ok) {
      await Promise.all([this.perIp.penalty(request.clientIp), this.perUser.penalty(request.username)]);
      throw new AuthError('invalid_token', 'wrong user name or password');
    }
    const principal = this.principalOf(request.username) as Principal;
    this.remembered.set(pair, principal);
    return principal;
  }

  /** The principal of a configured user, without a password (after they signed in some other way). */
  principalOf(username: string): Principal | undefined {
    if (!Object.hasOwn(this.config.users, username)) return undefined;
    const user = this.config.users[username];
    if (!user) return undefined;
    return {
      id: `basic:${username}`,
      kind: 'basic',
      name: username,
      scopes: user.scopes ?? this.defaultScopes,
      roles: user.roles,
    };
  }

  private async refuseIfThrottled(request: BasicRequest): Promise<void> {
    const [ip, user] = await Promise.all([
      this.perIp.get(request.clientIp),
      this.perUser.get(request.username),
    ]);
    const limits = this.config.failedAttempts;
    const blocked = [
      ip && ip.consumedPoints >= limits.perIp ? ip : null,
      user && user.consumedPoints >= limits.perUser ? user : null,
    ].filter((res): res is RateLimiterRes => res !== null);
    if (blocked.length === 0) return;
    const retryAfter = Math.ceil(Math.max(...blocked.map((res) => res.msBeforeNext)) / 1000);
    throw new AuthError('invalid_token', `too many failed logins — try again in ${retryAfter} s`, {
      status: 429,
      retryAfter,
    });
  }
}
