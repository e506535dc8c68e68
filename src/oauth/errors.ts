/**
 * OAuth protocol errors as typed values: a stable `error` code from the RFC that defines it, the
 * HTTP status it implies, and a public `error_description` that names the problem and the fix.
 * Handlers throw them; one renderer (`oauthErrorBody`) writes them, and anything else becomes a
 * generic `server_error` so no internal detail reaches a client.
 */
import { StoreUnavailableError } from '../store/unavailable.js';

/** Every code the authorization server may answer with, by the RFC that defines it. */
export type OAuthErrorCode =
  // RFC 6749 §4.1.2.1 and §5.2; OAuth 2.1 §4.1.2.1 and §3.2.4
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  // RFC 7591 §3.2.2
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  // RFC 8707 §2
  | 'invalid_target'
  // RFC 6750 §3.1
  | 'invalid_token'
  | 'insufficient_scope'
  // RFC 7009 §2.2.1
  | 'unsupported_token_type';

const STATUS: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  // RFC 6749 §5.2: 401 when the client tried to authenticate (the token endpoint adds the challenge).
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  invalid_target: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  unsupported_token_type: 400,
};

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;

  constructor(error: OAuthErrorCode, description: string, options?: { status?: number; cause?: unknown }) {
    super(description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.status = options?.status ?? STATUS[error];
  }

  get description(): string {
    return this.message;
  }

  /** Only client errors carry their description out; a 5xx says nothing about the inside. */
  get expose(): boolean {
    return this.status < 500;
  }
}

/**
 * A second use of an authorization code (RFC 6749 §4.1.2: the server SHOULD revoke every token
 * issued from it). `grantId` names what the first use issued, so the caller can revoke it.
 */
export class CodeReplayError extends OAuthError {
  constructor(readonly grantId: string) {
    super(
      'invalid_grant',
      'the authorization code has already been used — every token issued for it is revoked',
    );
    this.name = 'CodeReplayError';
  }
}

/**
 * A refresh token presented after it was rotated (OAuth 2.1 §4.3.1): either the client or an
 * attacker holds a stolen copy, so the whole family (`grantId`) has been revoked.
 */
export class RefreshTokenReuseError extends OAuthError {
  constructor(readonly grantId: string) {
    super(
      'invalid_grant',
      'the refresh token has already been used — the grant is revoked; sign in again to get new tokens',
    );
    this.name = 'RefreshTokenReuseError';
  }
}

export interface OAuthErrorBody {
  readonly error: OAuthErrorCode;
  readonly error_description: string;
}

/** The JSON body for any thrown value: its own for an exposed OAuthError, a generic one otherwise. */
export function oauthErrorBody(err: unknown): { status: number; body: OAuthErrorBody } {
  // The store is away: nothing was decided, the client may retry (RFC 6749 §4.1.2.1).
  if (err instanceof StoreUnavailableError)
    return { status: 503, body: { error: 'temporarily_unavailable', error_description: err.message } };
  if (err instanceof OAuthError && err.expose) {
    return { status: err.status, body: { error: err.error, error_description: err.description } };
  }
  const status = err instanceof OAuthError ? err.status : 500;
  const error = err instanceof OAuthError ? err.error : 'server_error';
  return {
    status,
    body: {
      error,
      error_description:
        error === 'temporarily_unavailable'
          ? 'the authorization server is busy — try again shortly'
          : 'the authorization server failed to handle the request',
    },
  };
}
