/**
 * Why a credential was refused, in RFC 6750 terms: `invalid_request` (malformed, 400) or
 * `invalid_token` (missing, unknown, expired, revoked…, 401). The authenticate stage turns it into
 * the HTTP error with the right WWW-Authenticate challenge.
 */
export type AuthErrorCode = 'invalid_request' | 'invalid_token';

export interface AuthErrorOptions {
  /** Overrides the status the code implies: 403 for a refused transport, 429 when throttled. */
  readonly status?: 403 | 429;
  /** Seconds until a throttled caller may try again (Retry-After). */
  readonly retryAfter?: number;
}

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: 400 | 401 | 403 | 429;
  readonly retryAfter: number | undefined;

  constructor(code: AuthErrorCode, description: string, options: AuthErrorOptions = {}) {
    super(description);
    this.name = 'AuthError';
    this.code = code;
    this.status = options.status ?? (code === 'invalid_request' ? 400 : 401);
    this.retryAfter = options.retryAfter;
  }
}
