/**
 * The one-line readable form of an audit event, for a terminal and `portcullis audit`: time, type,
 * then what matters for that type (outcome, who, where), and the request id last.
 */
import type { AuditEvent, AuditPrincipal } from './events.js';

const who = (p: AuditPrincipal | undefined): string =>
  p ? `${p.id}${p.name !== p.id ? ` (${p.name})` : ''}` : '-';

/** `2026-11-23T10:00:00.000Z policy.decision denied api-key:key_1 (ci) everything.write_file …` */
export function describeEvent(event: AuditEvent): string {
  const parts: string[] = [event.time, event.type];
  switch (event.type) {
    case 'gateway.start':
      parts.push(
        event.listen,
        `auth=${event.posture.auth.join(',')}`,
        `tls=${event.posture.tls}`,
        `readOnly=${event.posture.policy.readOnly}`,
      );
      break;
    case 'gateway.stop':
      parts.push(
        event.reason,
        `uptime=${Math.round(event.uptimeMs / 1000)}s`,
        `auditDropped=${event.auditDropped}`,
      );
      break;
    case 'auth.success':
      parts.push('allowed', event.method, who(event.principal), event.clientIp, event.upstream);
      break;
    case 'auth.failure':
      parts.push(
        'denied',
        event.method,
        event.username !== undefined ? `user=${event.username}` : '-',
        event.clientIp,
        event.upstream,
        `${event.status} ${event.reason}: ${event.message}`,
      );
      break;
    case 'policy.decision':
      parts.push(
        event.outcome,
        who(event.principal),
        `${event.upstream}.${event.target.name}`,
        event.method,
        `rule=${event.rule}`,
      );
      if (event.latencyMs !== undefined) parts.push(`${event.latencyMs}ms`);
      if (event.upstreamStatus !== undefined) parts.push(`upstream=${event.upstreamStatus}`);
      break;
    case 'rate_limit.refused':
      parts.push(
        'denied',
        who(event.principal),
        event.clientIp,
        event.upstream,
        `budget=${event.budget}${event.tool ? ` tool=${event.tool}` : ''}`,
        event.code,
      );
      break;
    case 'admin.key_created':
      parts.push(
        event.keyId,
        `name=${event.name}`,
        `scopes=${event.scopes.join(',') || '-'}`,
        `by=${event.actor.user ?? event.actor.via}`,
      );
      break;
    case 'admin.key_revoked':
      parts.push(event.keyId, `by=${event.actor.user ?? event.actor.via}`);
      break;
    case 'admin.consent_revoked':
      parts.push(
        `oauth:${event.subject}`,
        `grantsRevoked=${event.grantsRevoked}`,
        `by=${event.actor.user ?? event.actor.via}`,
      );
      break;
    case 'audit.dropped':
      parts.push(`count=${event.count}`, `from=${event.from}`, `until=${event.until}`);
      break;
    case 'oauth.client_registered':
      parts.push(event.clientIp, `client=${event.clientName || '-'}`);
      break;
    case 'oauth.consent':
      parts.push(
        'allowed',
        `oauth:${event.subject}`,
        `client=${event.clientKind}`,
        `scopes=${event.scopes.join(',') || '-'}`,
      );
      break;
    case 'oauth.token':
      parts.push(event.grantType, event.clientIp, `scopes=${event.scopes.join(',') || '-'}`);
      break;
    case 'oauth.refused':
      parts.push('denied', event.endpoint, event.clientIp, `${event.error}: ${event.message}`);
      if (event.grantRevoked) parts.push('grant revoked');
      break;
    case 'oauth.revoked':
      parts.push(event.clientIp);
      break;
  }
  if (event.requestId !== undefined) parts.push(`req=${event.requestId}`);
  return parts.join('  ');
}
