/**
 * The names of the form fields the pages post, shared with the handlers that read them, so the
 * two cannot drift apart.
 */
export const FIELDS = {
  /** The pending authorization request the form belongs to. */
  requestId: 'request_id',
  /** The CSRF token (src/oauth/csrf.ts) bound to that request and to this browser. */
  csrfToken: 'csrf_token',
  username: 'username',
  password: 'password',
  /** The consent decision: `approve` or `deny` (the button pressed). */
  decision: 'decision',
} as const;

export type ConsentDecision = 'approve' | 'deny';
