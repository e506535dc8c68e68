/** What every redaction leaves in place of what it masked, in logs, audit events and spans alike. */
export const REDACTED = '[REDACTED]';
