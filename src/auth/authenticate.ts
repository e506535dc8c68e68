/**
 * Authentication stage: turns the request's one credential into the Principal every later stage
 * sees, on every request, with no decision cached beyond what each method allows. Resolution order:
 * a credential in the query string is refused; X-API-Key or `Bearer pcl_…` → API key;
 * another Bearer token → JWT (when it looks like one and jwt is configured), else introspection;
 * Basic → the config's users. No credential, or a refused one → 401 with a challenge that points
 * to the protected-resource metadata (MCP authorization, RFC 9728).
 */

import { GatewayError } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { challenge } from '../core/render.js';
import { resourceMetadataUrl, resourceUrl } from '../http/resource-url.js';
import type { AuthorizationServer } from '../oauth/authorization-server.js';
import type { RequestContext } from '../pipeline/context.js';
import type { ApiKeys } from './api-keys.js';
import { AuthError } from './auth-error.js';
import type { BasicUsers } from './basic.js';
import { type Credential, readCredential } from './credentials.js';
import type { Introspector } from './introspection.js';
import type { JwtVerifier } from './jwt.js';

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  name: 'anonymous',
  scopes: ['*'],
});

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface Authenticators {
  /** `auth: { none: true }`: every caller is the anonymous principal. */
  readonly none: boolean;
  readonly apiKeys?: ApiKeys;
  readonly basic?: BasicUsers;
  readonly jwt?: JwtVerifier;
  readonly introspection?: Introspector;
  /** The gateway's own authorization server: verifies the access tokens it issued. */
  readonly oauth?: Pick<AuthorizationServer, 'issued' | 'principal'>;
  readonly publicUrl: URL;
}

export function authenticate(methods: Authenticators): (ctx: RequestContext) => Promise<void> {
  const resolve = async (credential: Credential, ctx: RequestContext): Promise<Principal> => {
    const resource = resourceUrl(methods.publicUrl, ctx.endpoint.path);
    switch (credential.kind) {
      case 'api-key':
        if (!methods.apiKeys)
          throw new AuthError('invalid_token', 'API keys are not accepted by this gateway');
        return methods.apiKeys.verify(credential.key);
      case 'bearer':
        if (methods.oauth?.issued(credential.token))
          return methods.oauth.principal(credential.token, resource);
        if (methods.jwt && (JWT_SHAPE.test(credential.token) || !methods.introspection)) {
          return methods.jwt.verify(credential.token, resource);
        }
        if (methods.introspection) return methods.introspection.verify(credential.token, resource);
        throw new AuthError(
          'invalid_token',
          'bearer tokens other than API keys are not accepted by this gateway',
        );
      case 'basic':
        if (!methods.basic)
          throw new AuthError('invalid_token', 'Basic authentication is not enabled on this gateway');
        return methods.basic.verify({ ...credential, clientIp: ctx.clientIp, secure: ctx.secure });
      default:
        throw new AuthError('invalid_request', 'unsupported credential');
    }
  };

  return async function authenticateRequest(ctx) {
    if (methods.none) {
      ctx.principal = ANONYMOUS;
      return;
    }
    let credential: Credential | undefined;
    try {
      credential = readCredential(ctx.req);
      if (!credential)
        throw new AuthError(
          'invalid_token',
          'authentication is required — send an API key or a bearer token',
        );
      ctx.principal = await resolve(credential, ctx);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      const error = refusal(err, ctx, credential !== undefined, methods);
      ctx.audit?.authFailed(
        error,
        credential?.kind ?? 'missing',
        credential?.kind === 'basic' ? credential.username : undefined,
      );
      throw error;
    }
    ctx.audit?.authenticated(ctx.principal);
  };
}

/** The HTTP answer for a refused credential, with RFC 6750 / RFC 9728 challenges. */
function refusal(
  err: AuthError,
  ctx: RequestContext,
  credentialSent: boolean,
  methods: Authenticators,
): GatewayError {
  const metadata = resourceMetadataUrl(methods.publicUrl, ctx.endpoint.path);
  const bearer =
    credentialSent || err.code === 'invalid_request'
      ? challenge('Bearer', { error: err.code, error_description: err.message, resource_metadata: metadata })
      : challenge('Bearer', { resource_metadata: metadata });
  const challenges = methods.basic
    ? [bearer, challenge('Basic', { realm: 'portcullis', charset: 'UTF-8' })]
    : [bearer];
  const code =
    err.status === 429
      ? 'too_many_attempts'
      : err.status === 403
        ? 'insecure_transport'
        : err.code === 'invalid_request'
          ? 'invalid_auth_request'
          : credentialSent
            ? 'invalid_token'
            : 'unauthorized';
  return new GatewayError(code, err.message, {
    headers: { 'www-authenticate': challenges.join(', ') },
    ...(err.retryAfter === undefined ? {} : { retryAfter: err.retryAfter }),
  });
}
