/**
 * The `auth.oauth:` section: the gateway's own OAuth 2.1 authorization server (issue 7). To be
 * plugged into auth-schema.ts as `oauth: oauthSchema.optional()`.
 *
 * ```yaml
 * auth:
 *   oauth:
 *     registration: open              # open | static | off
 *     signingSecret: "${env:PORTCULLIS_SIGNING_SECRET}"
 *     accessTokens: { signing: ES256, lifetime: 1h, keyRotation: 7d }
 * ```
 */
import { z } from 'zod';
import { rate } from '../limits/rate.js';
import { duration } from './units.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const oauthSchema = z
  .strictObject({
    /**
     * How clients register: `open` (RFC 7591 dynamic registration, the client id a signed blob —
     * anyone who reaches the URL can register, so the login is the only gate), `static` (only
     * clients added with `portcullis clients add`) or `off` (no registration endpoint).
     */
    registration: z.enum(['open', 'static', 'off'], { error: 'must be open, static or off' }).default('open'),
    /**
     * Accept Client ID Metadata Documents (an https URL as client_id). Defaults to on, except with
     * `registration: static`, where it would let any client with a web page in.
     */
    clientMetadataDocuments: z.boolean().optional(),
    /**
     * Secret every OAuth key is derived from (signed client ids, client secrets, access tokens).
     * A fleet must share it. Rotating it invalidates every registered client and every token at
     * once. Without it, auth.secret (or the generated secret.key) is used, under its own derivation.
     */
    signingSecret: z
      .string()
      .min(32, 'must be at least 32 characters — generate one with: openssl rand -base64 48')
      .optional(),
    accessTokens: z
      .strictObject({
        /** HS256 (only the gateway verifies) or ES256 (rotating key pair, public keys at jwks_uri). */
        signing: z.enum(['HS256', 'ES256'], { error: 'must be HS256 or ES256' }).default('HS256'),
        lifetime: duration.default(HOUR),
        /** ES256 only: how long one signing key is used before the next takes over. */
        keyRotation: duration.default(7 * DAY),
      })
      .prefault({}),
    refreshTokens: z
      .strictObject({
        /** Each refresh token's life; every use replaces it with a new one. */
        lifetime: duration.default(30 * DAY),
      })
      .prefault({}),
    /** Dynamic registrations per client IP (the endpoint is unauthenticated). */
    registrationPerIp: rate.prefault('20/hour'),
  })
  .superRefine((o, ctx) => {
    const { lifetime, keyRotation } = o.accessTokens;
    if (lifetime < 60_000 || lifetime > DAY) {
      ctx.addIssue({
        code: 'custom',
        path: ['accessTokens', 'lifetime'],
        message: 'must be between 1m and 24h — access tokens are meant to be short-lived (default 1h)',
      });
    }
    if (keyRotation < lifetime) {
      ctx.addIssue({
        code: 'custom',
        path: ['accessTokens', 'keyRotation'],
        message:
          'must be at least accessTokens.lifetime — a token must stay verifiable for its whole life, and only the previous key is kept',
      });
    }
    if (o.refreshTokens.lifetime < lifetime) {
      ctx.addIssue({
        code: 'custom',
        path: ['refreshTokens', 'lifetime'],
        message: 'must be at least accessTokens.lifetime',
      });
    }
  })
  .transform((o) => ({
    ...o,
    clientMetadataDocuments: o.clientMetadataDocuments ?? o.registration !== 'static',
  }));

export type OAuthConfig = z.output<typeof oauthSchema>;
