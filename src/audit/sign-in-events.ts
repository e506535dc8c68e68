/** The audit event of a sign-in page (OAuth, approval) refusing a Basic user's password. */
import type { AuthError } from '../auth/auth-error.js';
import type { AuditEventInput } from './events.js';

export interface SignInAttempt {
  readonly requestId: string;
  readonly clientIp: string;
  /** The page's path, e.g. /oauth/login. */
  readonly endpoint: string;
  readonly username: string;
}

export function signInRefusedEvent(err: AuthError, attempt: SignInAttempt): AuditEventInput {
  return {
    type: 'auth.failure',
    requestId: attempt.requestId,
    method: 'basic',
    reason: err.status === 429 ? 'too_many_attempts' : 'invalid_credentials',
    message: err.message,
    status: err.status,
    clientIp: attempt.clientIp,
    upstream: '-',
    endpoint: attempt.endpoint,
    username: attempt.username,
  };
}
