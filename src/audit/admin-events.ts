/** Audit events of administrative actions on API keys, from the CLI or the gateway itself. */
import { hostname, userInfo } from 'node:os';
import type { ApiKeyRecord } from '../store/store.js';
import type { AuditActor, AuditEventInput } from './events.js';

/** The operating-system user and host running this CLI command. */
export function cliActor(): AuditActor {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the event still says it came from the CLI.
  }
  return { via: 'cli', ...(user !== undefined ? { user } : {}), host: hostname() };
}

export function keyCreatedEvent(record: ApiKeyRecord, actor: AuditActor): AuditEventInput {
  return {
    type: 'admin.key_created',
    actor,
    keyId: record.id,
    name: record.name,
    scopes: record.scopes,
    roles: record.roles,
    expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
  };
}

export function keyRevokedEvent(keyId: string, actor: AuditActor): AuditEventInput {
  return { type: 'admin.key_revoked', actor, keyId };
}
