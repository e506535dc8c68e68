/**
 * The audit trail's events: one discriminated union on `type`. Every event carries `time` (ISO 8601,
 * UTC, milliseconds) and, when a request caused it, the `requestId` the client saw in X-Request-Id
 * and in error bodies. One event per decision: a request yields at most one authentication event
 * and one policy decision (or refusal) per JSON-RPC request it carries.
 *
 * Events are redacted before they are written anywhere (src/audit/audit-log.ts); who acted
 * (`principal`, `username`, `actor`) is kept readable — only secrets and credentials are masked in it.
 * Tool arguments and results appear only for tools the config opts in (audit.logArguments).
 *
 * OAuth events come from the gateway's own authorization server (auth.oauth).
 */
import type { PrincipalKind } from '../core/principal.js';

/** Bumped when a field changes meaning or disappears; new optional fields do not bump it. */
export const AUDIT_SCHEMA_VERSION = 1;

/** Who acted, as the audit trail records it: never the credential, never its scopes' secrets. */
export interface AuditPrincipal {
  /** Stable id: `api-key:key_…`, `basic:<user>`, `jwt:<iss>#<sub>`, `introspection:<iss>#<sub>`, `anonymous`. */
  readonly id: string;
  readonly kind: PrincipalKind;
  /** Display name: the key's name, the Basic user, preferred_username or sub. */
  readonly name: string;
  /** OAuth client id (client_id or azp), when the token names one. */
  readonly clientId?: string;
}

/** How a principal was (or was to be) authenticated. */
export type AuthMethod = 'api-key' | 'basic' | 'jwt' | 'introspection' | 'oauth' | 'none';

/** What a refused credential was: an auth method, `bearer` (no verifier for it) or `missing`. */
export type AuthFailureMethod = Exclude<AuthMethod, 'none'> | 'bearer' | 'missing';

interface EventBase<T extends string> {
  readonly type: T;
  /** When it happened, ISO 8601 UTC (`2026-11-23T10:00:00.000Z`). */
  readonly time: string;
  /** The request's id (X-Request-Id), when a request caused the event. */
  readonly requestId?: string;
}

/** A rate as configured: `points` per `seconds`. */
export interface AuditRate {
  readonly points: number;
  readonly seconds: number;
}

/** The effective security posture, recorded at start so an auditor sees what was enforced when. */
export interface SecurityPosture {
  /** Authentication methods switched on; `['none']` when authentication is off. */
  readonly auth: readonly AuthMethod[];
  /** `native`: listen.tls; `proxy`: plain HTTP behind listen.trustedProxies; `none`: plain HTTP. */
  readonly tls: 'native' | 'proxy' | 'none';
  /** The listener is a loopback address. */
  readonly loopbackOnly: boolean;
  readonly trustedProxies: number;
  readonly allowedOrigins: number;
  readonly policy: {
    readonly readOnly: boolean;
    readonly rules: number;
    /** policy.tools entries with guards. */
    readonly guardedTools: number;
  };
  readonly limits: {
    /** Where rate limits are held: `memory`, `redis`, or `redis-unavailable` (fell back to memory). */
    readonly backend: string;
    readonly perIp: AuditRate;
    readonly perPrincipal: AuditRate;
    /** Tools with their own rate (limits.tools). */
    readonly tools: number;
  };
  /** Each upstream's transport and revision; an HTTP upstream's URL without userinfo or query. */
  readonly upstreams: Readonly<
    Record<string, { readonly transport: 'stdio' | 'http'; readonly protocol: string; readonly url?: string }>
  >;
  readonly audit: {
    readonly stdout: boolean;
    readonly store: boolean;
    /** `<upstream>.<tool>` patterns whose arguments and results are recorded. */
    readonly logArguments: readonly string[];
  };
  readonly metrics: { readonly enabled: boolean; readonly tokenProtected: boolean };
}

/** The gateway is listening. */
export interface GatewayStartEvent extends EventBase<'gateway.start'> {
  /** Portcullis version (package.json). */
  readonly version: string;
  readonly pid: number;
  /** The address it listens on, e.g. `http://127.0.0.1:8787`. */
  readonly listen: string;
  readonly publicUrl: string;
  readonly posture: SecurityPosture;
}

/**
 * A tool's (prompt's, resource template's) definition differs from its pin, or one was seen that
 * no one approved, with `policy.pinning: enforce` (src/policy/pins.ts).
 */
export interface ToolDriftEvent extends EventBase<'tool.drift'> {
  readonly upstream: string;
  readonly kind: 'tool' | 'prompt' | 'resourceTemplate';
  /** The tool's or prompt's name, or the resource template's uriTemplate. */
  readonly tool: string;
  /** `new`: no definition of this tool was approved; `changed`: it differs from the approved one. */
  readonly change: 'new' | 'changed';
  readonly mode: 'record' | 'enforce';
  /** What changed, one line a change (empty for a new tool). */
  readonly diff: readonly string[];
  /** Fingerprints (sha256 of the canonical definition): the one seen, and the approved one. */
  readonly fingerprint: string;
  readonly pinned: string | null;
}

/** An operator approved or rejected a tool's definition (portcullis tools approve|reject). */
export interface ToolReviewedEvent extends EventBase<'admin.tool_approved' | 'admin.tool_rejected'> {
  readonly actor: AuditActor;
  readonly upstream: string;
  readonly kind: 'tool' | 'prompt' | 'resourceTemplate';
  readonly tool: string;
  readonly fingerprint: string;
}

/**
 * A call held for a person's approval (policy.approval, src/policy/approvals.ts): `requested` when
 * the request is made, `approved`/`denied` when someone decides, `expired` when no one did in time
 * (a denial), `used` when the approved call runs (once). Never the arguments: their hash.
 */
export interface ApprovalEvent
  extends EventBase<
    'approval.requested' | 'approval.approved' | 'approval.denied' | 'approval.expired' | 'approval.used'
  > {
  readonly approvalId: string;
  readonly upstream: string;
  readonly tool: string;
  /** The caller whose call is held (for `expired`, only its id and name are known). */
  readonly principal: AuditPrincipal | { readonly id: string; readonly name: string };
  /** sha256 of the arguments' canonical JSON: which call, without its values. */
  readonly argumentsHash: string;
  /** `requested`: the approval rule that held the call. */
  readonly rule?: string;
  /** `approved`/`denied` on the approval page: who decided. */
  readonly approver?: AuditPrincipal;
  /** `approved`/`denied` with `portcullis approvals`: the operator. */
  readonly actor?: AuditActor;
  /** ISO 8601: until when the request waits (`requested`) or the approval may be used (`approved`). */
  readonly expiresAt?: string;
}

/** The gateway is stopping: sessions closed, upstreams stopped, the audit queue about to be flushed. */
export interface GatewayStopEvent extends EventBase<'gateway.stop'> {
  /** `SIGTERM`, `SIGINT`, or `close` when stopped programmatically. */
  readonly reason: string;
  readonly uptimeMs: number;
  /** Audit events the store lost while this gateway ran (queue full or store down); 0 normally. */
  readonly auditDropped: number;
}

/** A credential was accepted. Emitted on every authenticated request (sessions are not credentials). */
export interface AuthSuccessEvent extends EventBase<'auth.success'> {
  readonly method: AuthMethod;
  readonly principal: AuditPrincipal;
  /** The client's IP (the socket peer, or X-Forwarded-For behind a trusted proxy). */
  readonly clientIp: string;
  /** The upstream whose endpoint was called. */
  readonly upstream: string;
  /** The endpoint path, e.g. `/servers/files/mcp`. */
  readonly endpoint: string;
}

/** A credential was missing or refused. */
export interface AuthFailureEvent extends EventBase<'auth.failure'> {
  readonly method: AuthFailureMethod;
  /**
   * The stable error code the client got: `unauthorized` (no credential), `invalid_token`,
   * `invalid_auth_request` (malformed, two credentials, credential in the URL), `insecure_transport`,
   * `too_many_attempts`; on the sign-in page, `invalid_credentials` (a wrong user name or password).
   */
  readonly reason: string;
  /** The refusal's message (why: unknown key, revoked, expired, bad signature…), redacted. */
  readonly message: string;
  /** The HTTP status sent: 400, 401, 403 or 429. */
  readonly status: number;
  readonly clientIp: string;
  readonly upstream: string;
  readonly endpoint: string;
  /** The Basic user name tried, when the credential was Basic. */
  readonly username?: string;
}

/** What a policy decision was about. */
export interface AuditTarget {
  readonly kind: 'tool' | 'resource' | 'prompt' | 'completion';
  /** Tool or prompt name, resource URI, or for a completion the prompt name or resource URI it completes. */
  readonly name: string;
}

/** How the upstream answered an allowed call. */
export type UpstreamStatus = 'ok' | 'error' | 'timeout' | 'unavailable' | 'cancelled';

/**
 * The policy decided a call: tools/call, resources/read, resources/subscribe, resources/unsubscribe,
 * prompts/get or completion/complete. An allowed call is recorded once the upstream answered (with
 * its latency and status); a denied one at once. Lists are filtered, not recorded.
 */
export interface PolicyDecisionEvent extends EventBase<'policy.decision'> {
  readonly principal: AuditPrincipal;
  readonly clientIp: string;
  readonly upstream: string;
  /** The JSON-RPC method, e.g. `tools/call`. */
  readonly method: string;
  readonly target: AuditTarget;
  readonly outcome: 'allowed' | 'denied';
  /**
   * What decided (Policy's Decision.rule): `readOnly`, `unknown tool`, `class write + rule 2`…; for
   * a refusal by an argument guard, `guard: <the guard's message>`.
   */
  readonly rule: string;
  /** For a denial: the stable error code (`insufficient_scope`, `forbidden`, `invalid_arguments`). */
  readonly code?: string;
  /** For a denial by scope: each unmet requirement, as the scopes any one of which would meet it. */
  readonly missingScopes?: readonly (readonly string[])[];
  /** Milliseconds from the gateway receiving the request to the upstream's answer (allowed calls). */
  readonly latencyMs?: number;
  /** How the upstream answered (allowed calls). */
  readonly upstreamStatus?: UpstreamStatus;
  /** The upstream's JSON-RPC error code, when it answered with an error. */
  readonly upstreamError?: number;
  /**
   * Resources the answer carried (embedded or linked) that the principal may not read: each was
   * replaced by a text item saying it was withheld. Their URIs, in the order met.
   */
  readonly withheld?: readonly string[];
  /** The MCP protocol revision the client spoke. */
  readonly protocolVersion?: string;
  /** The call's arguments: only for tools listed in audit.logArguments, redacted. */
  readonly arguments?: unknown;
  /** The upstream's result: only for tools listed in audit.logArguments, redacted. */
  readonly result?: unknown;
}

/** A limit refused a request (HTTP 429 or 503). */
export interface RateLimitRefusedEvent extends EventBase<'rate_limit.refused'> {
  /** Which limit: `ip`, `principal`, `tool`, `concurrency`, `sessions`, `streams`. */
  readonly budget: 'ip' | 'principal' | 'tool' | 'concurrency' | 'sessions' | 'streams';
  /** The stable error code the client got (`rate_limited`, `concurrency_limit`, `too_many_sessions`…). */
  readonly code: string;
  readonly clientIp: string;
  readonly upstream: string;
  /** Absent for the per-IP limit, which runs before authentication. */
  readonly principal?: AuditPrincipal;
  /** The tool, for the per-tool limit. */
  readonly tool?: string;
  /** Seconds the client was told to wait (Retry-After). */
  readonly retryAfter?: number;
  /**
   * A flood is one event per source and window, not one per request: the first refusal of a budget
   * for one client IP, principal and tool in each window (audit.rateLimitWindow, 1 minute) is
   * recorded; the ones after it are counted, and the count is recorded as `suppressed` in a summary
   * event (no requestId) when the window ends. The metrics count every refusal.
   */
  readonly suppressed?: number;
}

/** Who performed an administrative action. */
export interface AuditActor {
  /** `cli` (a portcullis command) or `gateway` (e.g. the bootstrap admin key at first start). */
  readonly via: 'cli' | 'gateway';
  /** The operating-system user that ran the command, when known. */
  readonly user?: string;
  readonly host?: string;
}

export interface AdminKeyCreatedEvent extends EventBase<'admin.key_created'> {
  readonly actor: AuditActor;
  /** The key's public id (key_…); never the key. */
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** ISO 8601, or null for no expiry. */
  readonly expiresAt: string | null;
}

export interface AdminKeyRevokedEvent extends EventBase<'admin.key_revoked'> {
  readonly actor: AuditActor;
  readonly keyId: string;
}

/** An operator withdrew a user's consent to an OAuth client (and revoked its live grants). */
export interface AdminConsentRevokedEvent extends EventBase<'admin.consent_revoked'> {
  readonly actor: AuditActor;
  readonly subject: string;
  readonly clientId: string;
  readonly grantsRevoked: number;
}

/**
 * Written by the audit log itself, into the stored chain, when the store lost events (its queue was
 * full while the store was down or slow): the gap is then visible in the chain, not silent.
 */
export interface AuditDroppedEvent extends EventBase<'audit.dropped'> {
  readonly count: number;
  /** The first and last lost events' times. */
  readonly from: string;
  readonly until: string;
}

/** A client registered itself (auth.oauth.registration: open). */
export interface OAuthClientRegisteredEvent extends EventBase<'oauth.client_registered'> {
  readonly clientIp: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly redirectUris: readonly string[];
}

/** A user approved a client on the consent page. */
export interface OAuthConsentEvent extends EventBase<'oauth.consent'> {
  readonly clientIp: string;
  /** The user who approved. */
  readonly subject: string;
  readonly clientId: string;
  /** `dynamic` (self-registered), `static` or `metadata-document`. */
  readonly clientKind: string;
  readonly scopes: readonly string[];
  /** Asked for, but beyond what the user may grant: not granted. */
  readonly dropped: readonly string[];
}

/** The token endpoint issued tokens (a code exchanged, or a refresh token rotated). */
export interface OAuthTokenEvent extends EventBase<'oauth.token'> {
  readonly clientIp: string;
  readonly grantType: 'authorization_code' | 'refresh_token';
  readonly clientId: string;
  readonly scopes: readonly string[];
}

/** The token endpoint refused, or a grant was revoked (reuse detected, replayed code, revocation). */
export interface OAuthRefusedEvent extends EventBase<'oauth.refused'> {
  readonly clientIp: string;
  /** The endpoint: `token`, `revoke`, `register`. */
  readonly endpoint: string;
  /** The OAuth error code (`invalid_grant`, `invalid_client`…). */
  readonly error: string;
  readonly message: string;
  readonly clientId?: string;
  /** Set when the refusal revoked a whole grant: a replayed code or a reused refresh token. */
  readonly grantRevoked?: boolean;
}

/** A client revoked a token (RFC 7009). */
export interface OAuthRevokedEvent extends EventBase<'oauth.revoked'> {
  readonly clientIp: string;
  readonly clientId: string;
}

/**
 * The gateway ended a session on its own: idle past limits.sessionIdleTimeout, evicted (the least
 * recently used idle one) to admit a new session at a cap, or closed by an operator.
 */
export interface SessionClosedEvent extends EventBase<'session.closed'> {
  readonly reason: 'idle' | 'evicted' | 'admin' | 'deleted' | 'shutdown';
  /** The session's public handle (`portcullis sessions list`), never its Mcp-Session-Id. */
  readonly session: string;
  readonly kind: 'session' | 'stateless';
  readonly principal: AuditPrincipal;
  readonly upstream: string;
  readonly ageMs: number;
  readonly idleMs: number;
  /** Who closed it, for reason `admin`. */
  readonly actor?: AuditPrincipal;
}

export type AuditEvent =
  | GatewayStartEvent
  | GatewayStopEvent
  | ToolDriftEvent
  | ToolReviewedEvent
  | ApprovalEvent
  | AuthSuccessEvent
  | AuthFailureEvent
  | PolicyDecisionEvent
  | RateLimitRefusedEvent
  | AdminKeyCreatedEvent
  | AdminKeyRevokedEvent
  | AdminConsentRevokedEvent
  | AuditDroppedEvent
  | OAuthClientRegisteredEvent
  | OAuthConsentEvent
  | OAuthTokenEvent
  | OAuthRefusedEvent
  | OAuthRevokedEvent
  | SessionClosedEvent;

export type AuditEventType = AuditEvent['type'];

export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  'gateway.start',
  'gateway.stop',
  'auth.success',
  'auth.failure',
  'policy.decision',
  'rate_limit.refused',
  'admin.key_created',
  'admin.key_revoked',
  'admin.consent_revoked',
  'audit.dropped',
  'oauth.client_registered',
  'oauth.consent',
  'oauth.token',
  'oauth.refused',
  'oauth.revoked',
  'session.closed',
  'tool.drift',
  'admin.tool_approved',
  'admin.tool_rejected',
  'approval.requested',
  'approval.approved',
  'approval.denied',
  'approval.expired',
  'approval.used',
];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What `AuditLog.record` takes: an event whose `time` it fills in when absent. */
export type AuditEventInput = DistributiveOmit<AuditEvent, 'time'> & { readonly time?: string };

/** Outcome of an event for queries: refusals of every kind are `denied`. */
export type AuditOutcome = 'allowed' | 'denied';

/** The columns the store indexes for `audit query`, derived from the event. */
export interface AuditColumns {
  readonly principal: string | null;
  readonly principalName: string | null;
  readonly upstream: string | null;
  /** Tool or prompt name, or resource URI. */
  readonly tool: string | null;
  readonly outcome: AuditOutcome | null;
}

/**
 * Columns for queries: `principal` is the principal's id (for a failed Basic login, `basic:<user>`,
 * the id that user would have had); `outcome` is `allowed` for auth.success and allowed decisions,
 * `denied` for auth.failure, denied decisions and rate_limit.refused, null otherwise.
 */
export function auditColumns(event: AuditEvent): AuditColumns {
  switch (event.type) {
    case 'auth.success':
      return {
        principal: event.principal.id,
        principalName: event.principal.name,
        upstream: event.upstream,
        tool: null,
        outcome: 'allowed',
      };
    case 'auth.failure':
      return {
        principal: event.username === undefined ? null : `basic:${event.username}`,
        principalName: event.username ?? null,
        upstream: event.upstream,
        tool: null,
        outcome: 'denied',
      };
    case 'policy.decision':
      return {
        principal: event.principal.id,
        principalName: event.principal.name,
        upstream: event.upstream,
        tool: event.target.name,
        outcome: event.outcome,
      };
    case 'rate_limit.refused':
      return {
        principal: event.principal?.id ?? null,
        principalName: event.principal?.name ?? null,
        upstream: event.upstream,
        tool: event.tool ?? null,
        outcome: 'denied',
      };
    case 'oauth.consent':
      return {
        principal: `oauth:${event.subject}`,
        principalName: event.subject,
        upstream: null,
        tool: null,
        outcome: 'allowed',
      };
    case 'session.closed':
      return {
        principal: event.principal.id,
        principalName: event.principal.name,
        upstream: event.upstream,
        tool: null,
        outcome: null,
      };
    case 'oauth.refused':
      return { principal: null, principalName: null, upstream: null, tool: null, outcome: 'denied' };
    case 'tool.drift':
      return {
        principal: null,
        principalName: null,
        upstream: event.upstream,
        tool: event.tool,
        outcome: null,
      };
    case 'admin.tool_approved':
    case 'admin.tool_rejected':
      return {
        principal: event.actor.user === undefined ? null : `os:${event.actor.user}`,
        principalName: event.actor.user ?? null,
        upstream: event.upstream,
        tool: event.tool,
        outcome: null,
      };
    case 'approval.requested':
    case 'approval.approved':
    case 'approval.denied':
    case 'approval.expired':
    case 'approval.used':
      return {
        principal: event.principal.id,
        principalName: event.principal.name,
        upstream: event.upstream,
        tool: event.tool,
        outcome:
          event.type === 'approval.approved' || event.type === 'approval.used'
            ? 'allowed'
            : event.type === 'approval.requested'
              ? null
              : 'denied',
      };
    case 'admin.key_created':
    case 'admin.key_revoked':
    case 'admin.consent_revoked':
      return {
        principal: event.actor.user === undefined ? null : `os:${event.actor.user}`,
        principalName: event.actor.user ?? null,
        upstream: null,
        tool: null,
        outcome: null,
      };
    default:
      return { principal: null, principalName: null, upstream: null, tool: null, outcome: null };
  }
}

/** The principal as the audit trail records it (drops scopes and roles, which the policy reports). */
export function auditPrincipal(principal: {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly clientId?: string;
}): AuditPrincipal {
  return {
    id: principal.id,
    kind: principal.kind,
    name: principal.name,
    ...(principal.clientId !== undefined ? { clientId: principal.clientId } : {}),
  };
}
