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
 *     login:
 *       local: false                    # only the company's identity provider
 *       oidc:
 *         issuer: https://login.example.com/realms/staff
 *         clientId: portcullis
 *         clientSecret: "${env:PORTCULLIS_OIDC_SECRET}"
 *         roles: [viewer]
 *         allowedDomains: [example.com]
 * ```
 */
import { z } from 'zod';
import { rate } from '../limits/rate.js';
import { insecureUrlReason } from './secure-url.js';
import { duration } from './units.js';

const HOUR = 3_600_000;

/** Same character rule as auth.defaultScopes (a space would split an OAuth scope string). */
const scopeName = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, {
  message: 'is not a valid scope — use letters, digits and : . _ - * (no spaces or quotes)',
});

/**
 * Sign-in delegated to an external OpenID provider (authorization code + PKCE toward it). The
 * provider vouches for who the person is; what they may do is set here, the same for every one of
 * its users (`roles`, `scopes`), since an IdP's groups are not policy roles.
 */
const oidcLoginSchema = z.strictObject({
  /** The provider's issuer identifier; its /.well-known/openid-configuration is read from here. */
  issuer: z.string().superRefine((value, ctx) => {
    const reason = insecureUrlReason(value, undefined, false);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  }),
  /** Our client id at the provider; register `<publicUrl>/oauth/callback` as its redirect URI there. */
  clientId: z.string().min(1),
  /** From ${env:…}: a confidential client (client_secret_basic). Absent: a public client (PKCE alone). */
  clientSecret: z.string().min(1).optional(),
  /** The button's label: "Sign in with <name>". */
  name: z.string().trim().min(1).max(60).default('single sign-on'),
  /** What is asked of the provider (not policy scopes); `openid` is required. */
  requestScopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'is not a valid scope' }))
    .default(['openid', 'profile', 'email'])
    .refine((s) => s.includes('openid'), { message: 'must include openid — it is what makes an id_token' }),
  /** The id_token claim that names the user; default preferred_username, then (verified) email, then sub. */
  usernameClaim: z.string().min(1).optional(),
  /** Policy roles every user of this provider gets. */
  roles: z.array(z.string().min(1)).default([]),
  /** Policy scopes every user of this provider gets; default auth.defaultScopes. */
  scopes: z.array(scopeName).optional(),
  /**
   * Only people whose verified email (`email_verified: true`) is in one of these domains (exact
   * match, no subdomains) may sign in. Absent: everyone the provider lets through this client.
   */
  allowedDomains: z
    .array(
      z
        .string()
        .toLowerCase()
        .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, { message: 'is not a domain name like example.com' }),
    )
    .min(1)
    .optional(),
});

/** How people sign in on the /oauth/authorize page; resolved against auth.basic by auth-schema.ts. */
const loginSchema = z.strictObject({
  /** The user name and password form (the auth.basic users); default on when auth.basic is set. */
  local: z.boolean().optional(),
  oidc: oidcLoginSchema.optional(),
});

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
    /** Who may sign in: local users, an external OpenID provider, or both. */
    login: loginSchema.optional(),
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

/** auth.oauth as written (login not yet resolved against auth.basic and auth.defaultScopes). */
export type OAuthConfigInput = z.output<typeof oauthSchema>;

export type OidcLoginConfig = Omit<z.output<typeof oidcLoginSchema>, 'scopes'> & {
  readonly scopes: readonly string[];
};

export interface LoginConfig {
  readonly local: boolean;
  readonly oidc?: OidcLoginConfig;
}

/** auth.oauth as the authorization server uses it. */
export type OAuthConfig = Omit<OAuthConfigInput, 'login'> & { readonly login: LoginConfig };

/**
 * Fills in what depends on the rest of `auth:` — local login defaults to on exactly when there are
 * Basic users, IdP users' scopes to auth.defaultScopes. Call it after validation (auth-schema.ts).
 */
export function resolveOAuthConfig(
  oauth: OAuthConfigInput,
  auth: { readonly basic: boolean; readonly defaultScopes: readonly string[] },
): OAuthConfig {
  const { login, ...rest } = oauth;
  const oidc = login?.oidc;
  return {
    ...rest,
    login: {
      local: login?.local ?? auth.basic,
      ...(oidc ? { oidc: { ...oidc, scopes: oidc.scopes ?? auth.defaultScopes } } : {}),
    },
  };
}
