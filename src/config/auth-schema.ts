/** The `auth:` section: which credentials the gateway accepts, each method off unless configured. */
import { z } from 'zod';
import { parsePasswordHash } from '../auth/password-hash.js';
import { oauthSchema, resolveOAuthConfig } from './oauth-schema.js';
import { insecureUrlReason } from './secure-url.js';
import { duration } from './units.js';

/** Scope names: `tools:read`, `files:*`, `*`. Spaces would break OAuth scope strings. */
export const scopeSchema = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, {
  message: 'is not a valid scope — use letters, digits and : . _ - * (no spaces or quotes)',
});

const secureUrl = z.string().superRefine((value, ctx) => {
  const reason = insecureUrlReason(value, undefined, false);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
});

const basicUserSchema = z.strictObject({
  passwordHash: z.string().refine((hash) => parsePasswordHash(hash) !== undefined, {
    message:
      'is not a usable password hash (malformed, short digest or salt, or scrypt cost out of bounds) — generate one with: npx portcullis users hash-password',
  }),
  /** This user's scopes; without it the user gets auth.defaultScopes. */
  scopes: z.array(scopeSchema).optional(),
  /** Roles (policy.roles) this user holds besides its scopes. */
  roles: z.array(z.string().min(1)).default([]),
});

const basicSchema = z
  .strictObject({
    users: z
      .record(
        z.string().regex(/^[^:\s]{1,128}$/, { message: 'is not a valid user name — no colons or spaces' }),
        basicUserSchema,
      )
      .default({}),
    /**
     * On a first start, create a user `admin` (role admin) with a random password, print the password
     * once and keep only its hash (admin.password.hash beside the store). For a first look; add real
     * users to `users` and remove this for anything shared.
     */
    bootstrapAdmin: z.boolean().default(false),
    /** Failed logins allowed per window before further attempts get 429. */
    failedAttempts: z
      .strictObject({
        perIp: z.number().int().min(1).default(10),
        perUser: z.number().int().min(1).default(20),
        window: duration.default(15 * 60_000),
      })
      .prefault({}),
  })
  .refine((b) => b.bootstrapAdmin || Object.keys(b.users).length > 0, {
    path: ['users'],
    message: 'is empty — add at least one user (or bootstrapAdmin: true), or remove auth.basic',
  });

/** The asymmetric JWS algorithms accepted for tokens and id_tokens of an outside provider. */
export const JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const jwtSchema = z.strictObject({
  /** The identity provider's issuer identifier; tokens must carry exactly this `iss`. */
  issuer: secureUrl,
  /** Where its signing keys are; discovered from the issuer's metadata when absent. */
  jwksUrl: secureUrl.optional(),
  /** Accepted `aud` values; by default the resource URL of the endpoint being called. */
  audience: z.array(z.string().min(1)).optional(),
  /** Asymmetric algorithms only: HS* would let anyone holding the public key forge tokens. */
  algorithms: z
    .array(
      z.enum(JWS_ALGORITHMS, {
        error: `must be one of ${JWS_ALGORITHMS.join(', ')} (symmetric HS* and none are refused)`,
      }),
    )
    .min(1)
    .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  /** Claim holding the scopes; by default `scope` (space-separated), then `scp`. */
  scopeClaim: z.string().min(1).optional(),
  clockTolerance: duration.default(30_000),
});

const introspectionSchema = z.strictObject({
  /** RFC 7662 endpoint of the identity provider. */
  url: secureUrl,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Required `iss` of introspection responses, when the provider returns one. */
  issuer: z.string().optional(),
  audience: z.array(z.string().min(1)).optional(),
  scopeClaim: z.string().min(1).optional(),
  /** Upper bound on caching an active answer; never longer than the token lives. */
  cacheTtl: duration.default(60_000),
});

export const authSchema = z
  .strictObject({
    /** No authentication at all: only accepted on a loopback listener, and said out loud at start. */
    none: z.literal(true, { error: 'can only be true — remove it to require authentication' }).optional(),
    /**
     * Server secret keying the API-key hashes (at least 32 characters, from ${env:…} or ${file:…}).
     * Without it the gateway generates one in the store's directory on first start.
     */
    secret: z
      .string()
      .min(32, 'must be at least 32 characters — generate one with: openssl rand -base64 48')
      .optional(),
    /** Scopes for principals whose method names none (a Basic user without a scope list). */
    defaultScopes: z.array(scopeSchema).default([]),
    apiKeys: z
      .strictObject({
        /** On a first start with no keys, create an admin key and print it once. */
        bootstrapAdmin: z.boolean().default(false),
      })
      .optional(),
    basic: basicSchema.optional(),
    jwt: jwtSchema.optional(),
    introspection: introspectionSchema.optional(),
    /** The gateway's own OAuth 2.1 authorization server, for MCP clients that log people in. */
    oauth: oauthSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    const login = auth.oauth?.login;
    if (auth.oauth && !auth.basic && !login?.oidc) {
      ctx.addIssue({
        code: 'custom',
        path: ['oauth'],
        message:
          'needs people who can sign in — add auth.basic.users (password hashes from: npx portcullis users hash-password), or an identity provider in auth.oauth.login.oidc',
      });
    } else if (login?.local === true && !auth.basic) {
      ctx.addIssue({
        code: 'custom',
        path: ['oauth', 'login', 'local'],
        message: 'needs auth.basic.users to sign in with — add them, or remove local: true',
      });
    } else if (login?.local === false && !login.oidc) {
      ctx.addIssue({
        code: 'custom',
        path: ['oauth', 'login'],
        message:
          'leaves nobody able to sign in — set local: true (auth.basic users), add oidc (an identity provider), or both',
      });
    }
    const methods = authMethods(auth);
    if (auth.none === true && methods.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['none'],
        message: `cannot be combined with ${methods.join(', ')} — remove none to require those credentials`,
      });
    }
  })
  .transform(({ oauth, ...auth }) => ({
    ...auth,
    ...(oauth
      ? {
          oauth: resolveOAuthConfig(oauth, {
            basic: auth.basic !== undefined,
            defaultScopes: auth.defaultScopes,
          }),
        }
      : {}),
  }));

export type AuthConfig = z.output<typeof authSchema>;

type AuthMethodName = 'apiKeys' | 'basic' | 'jwt' | 'introspection' | 'oauth';

/** The credential methods switched on, in resolution order. */
export function authMethods(
  // Structural: the refine above calls it before the transform resolves auth.oauth.
  auth: Readonly<Partial<Record<AuthMethodName, unknown>>>,
): AuthMethodName[] {
  return (['apiKeys', 'basic', 'jwt', 'introspection', 'oauth'] as const).filter(
    (m) => auth[m] !== undefined,
  );
}
