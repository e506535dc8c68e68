/**
 * The shape of portcullis.yaml. Every object is strict (unknown keys are errors), every default is
 * the safe one, and every message says what to write instead.
 */

import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { rate } from '../limits/rate.js';
import { isLoopbackHost } from '../net/loopback.js';
import { globToRegExp } from '../policy/glob.js';
import { authMethods, authSchema } from './auth-schema.js';
import { endpointPath, endpointsSchema } from './endpoints-schema.js';
import { fleetSchema } from './fleet-schema.js';
import { policySchema } from './policy-schema.js';
import { insecureUrlReason } from './secure-url.js';
import { tracingSchema } from './tracing-schema.js';
import { duration, size } from './units.js';

/** Upstream names appear in URLs (/servers/<name>/mcp) and, later, as tool-name prefixes. */
export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A tool-name prefix: what Claude's and OpenAI's tool calling accept, short enough to leave room. */
const PREFIX = /^[a-zA-Z0-9_-]{1,32}$/;

function isAddressOrRange(value: string): boolean {
  try {
    proxyaddr.compile(value);
    return true;
  } catch {
    return false;
  }
}

const stringMap = z.record(z.string(), z.string({ error: 'must be a string — quote numbers and booleans' }));

const listenSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z
    .number({ error: 'must be a port number from 0 to 65535, e.g. 8787' })
    .int()
    .min(0)
    .max(65535)
    .default(8787),
  /** Native HTTPS (TLS 1.2 or later): PEM files, relative to the config file. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Host header values accepted besides the public URL's host and, on loopback, the loopback names. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /**
   * Reverse proxies (IPs or CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed; the
   * client is the right-most address not in this list.
   */
  trustedProxies: z
    .array(
      z.string().refine(isAddressOrRange, {
        message: 'is not an IP address or CIDR range — write it like 10.0.0.5 or 10.0.0.0/8',
      }),
    )
    .default([]),
  /** Browser origins allowed to call the gateway besides its own (DNS-rebinding guard). */
  allowedOrigins: z
    .array(
      z.string().refine((o) => /^https?:\/\/[^/]+$/.test(o), {
        message: 'must be an origin like https://app.example.com (scheme and host, no path)',
      }),
    )
    .default([]),
});

const restartSchema = z.strictObject({
  initialDelay: duration.default(250),
  maxDelay: duration.default(30_000),
});

/** Warm children per upstream: each is a whole server process, so the pool is kept small. */
const MAX_WARM = 32;

const upstreamSchema = z
  .strictObject({
    command: z.string().min(1, 'must not be empty').optional(),
    args: z.array(z.string()).default([]),
    cwd: z.string().min(1).optional(),
    env: stringMap.default({}),
    restart: restartSchema.prefault({}),
    /**
     * Children of a stdio command kept started and ready (answering ping) ahead of sessions, so a new
     * session skips the process start. Each goes to one session only and is replaced at once.
     */
    warm: z
      .number({ error: 'must be a whole number of children, e.g. 2 (0 turns the pool off)' })
      .int({ error: 'must be a whole number of children, e.g. 2 (0 turns the pool off)' })
      .min(0, { error: 'must be 0 or more (0 turns the pool off)' })
      .max(MAX_WARM, {
        error: `must be at most ${MAX_WARM} — each warm child is a running process holding its memory`,
      })
      .default(0),
    url: z.string().optional(),
    headers: stringMap.default({}),
    /** The one private host a plain-http URL may name, spelled out so the exception is deliberate. */
    allowPrivateHost: z.string().min(1).optional(),
    /** How long one request may wait for the upstream's answer. */
    timeout: duration.default(60_000),
    /**
     * The MCP revision the upstream speaks: 2025-11-25 (sessions; also serves 2025-06-18 and
     * 2025-03-26 servers) or 2026-07-28 (stateless). The gateway bridges either to clients of either.
     */
    protocol: z
      .enum(['2025-11-25', '2026-07-28'], { error: 'must be 2025-11-25 or 2026-07-28' })
      .default('2025-11-25'),
    /** On the aggregated /mcp: the prefix of this upstream's tool and prompt names (default: its name). */
    prefix: z
      .string()
      .regex(PREFIX, {
        message: 'must be 1 to 32 letters, digits, - or _ (tool names may hold nothing else), e.g. files',
      })
      .optional(),
  })
  .superRefine((u, ctx) => {
    if (u.command === undefined && u.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message:
          'is missing — set command (and args) to run a stdio MCP server, or url to reach a Streamable HTTP one',
      });
      return;
    }
    if (u.command !== undefined && u.url !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'cannot be set together with command — an upstream is either a stdio command or a url',
      });
      return;
    }
    const urlProblem = u.url === undefined ? undefined : insecureUrlReason(u.url, u.allowPrivateHost, true);
    if (urlProblem) ctx.addIssue({ code: 'custom', path: ['url'], message: urlProblem });
    if (u.url !== undefined && (u.args.length > 0 || u.cwd !== undefined || Object.keys(u.env).length > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'args, cwd and env only apply to a stdio command — remove them or use command instead of url',
      });
    }
    if (u.url !== undefined && u.warm > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['warm'],
        message:
          'only applies to a stdio command — an HTTP upstream has no process to start ahead; remove warm',
      });
    }
    if (u.command !== undefined && Object.keys(u.headers).length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers'],
        message: 'only apply to a url upstream — pass credentials to a stdio command through env',
      });
    }
  });

/** Query parameters pg reads for TLS: they would override store.postgres.ssl, so TLS is set there only. */
const URL_TLS_PARAMS = ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation'];

/** Why a PostgreSQL URL is not acceptable, or undefined when it is. */
function postgresUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL — write it like postgres://portcullis@db.example.com:5432/portcullis';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    return `uses ${url.protocol} — write a postgres:// or postgresql:// URL`;
  if (url.hostname === '' && !url.searchParams.get('host'))
    return 'names no host — write it like postgres://portcullis@db.example.com:5432/portcullis';
  const tls = URL_TLS_PARAMS.find((param) => url.searchParams.has(param));
  if (tls !== undefined)
    return `sets ${tls} in the URL — remove it and configure TLS under store.postgres.ssl (ca, cert, key), which is on and verified by default for a host other than loopback`;
  return undefined;
}

/** TLS to PostgreSQL: PEM files relative to the config file; the server's certificate is verified. */
const postgresTlsSchema = z
  .strictObject({
    /** CA certificate(s) the server's certificate must chain to (default: the system's CAs). */
    ca: z.string().min(1).optional(),
    /** Client certificate and key, for servers that authenticate clients by certificate. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** Verify the server's certificate and name. Turning it off lets anyone on the path read the store. */
    rejectUnauthorized: z.boolean().default(true),
    /** The name the certificate must carry, when it is not the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), {
    message: 'needs cert and key together — set both (a client certificate and its key) or neither',
  });

/** store.postgres: also parses `portcullis store copy --to`. */
export const postgresSchema = z.preprocess(
  // The URL alone is the short form: postgres: ${env:PORTCULLIS_DATABASE_URL}
  (value) => (typeof value === 'string' ? { url: value } : value),
  z.strictObject({
    url: z
      .string({ error: 'is missing — set store.postgres to a postgres:// URL' })
      .superRefine((url, ctx) => {
        const problem = postgresUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /**
     * TLS: by default on, with the server's certificate verified against the system's CAs, for
     * any host but loopback (and off for loopback). false turns it off (the password and every
     * record cross the network in clear: only on a network you trust).
     */
    ssl: z.union([z.literal(false), postgresTlsSchema]).optional(),
    /** Connections this instance opens at most (each gateway of a fleet has its own pool). */
    poolSize: z.number().int().min(1).max(1000).default(10),
    /** How long opening a connection, or waiting for a free one, may take before the request gets 503. */
    connectTimeout: duration.default(5000),
    /** How long one statement may run (server-side statement_timeout) before the request gets 503. */
    queryTimeout: duration.default(10_000),
  }),
);

const storeSchema = z.strictObject({
  /**
   * The embedded SQLite file (API keys, OAuth state, audit trail, pins), relative to the config
   * file. With postgres set, it holds no state: its folder keeps only secret.key and the
   * bootstrap admin's password hash.
   */
  sqlite: z.string().min(1).default('./data/portcullis.db'),
  /** PostgreSQL instead of SQLite, shared by a fleet of gateways: a postgres:// URL, or { url, ssl, … }. */
  postgres: postgresSchema.optional(),
  /** Redis shared by a fleet of gateways for rate limits (redis:// or rediss://). */
  redis: z
    .string()
    .refine((url) => /^rediss?:\/\/[^\s]+$/.test(url), { message: 'must be a redis:// or rediss:// URL' })
    .optional(),
});

const limitsSchema = z.strictObject({
  /** Largest request body accepted, in bytes or as "1mb". */
  maxBody: size.default(1024 * 1024),
  /** Deepest JSON nesting accepted in a request body. */
  maxJsonDepth: z.number().int().min(4).max(1000).default(64),
  /** Most messages in one JSON-RPC batch (2025-03-26 clients only; later revisions forbid batches). */
  maxBatch: z.number().int().min(1).max(1000).default(20),
  /** A session with no request for this long is closed and its stdio child ended. */
  sessionIdleTimeout: duration.default(30 * 60_000),
  /** Requests per client IP to every MCP and OAuth endpoint (never keyed on a caller-mintable id). */
  perIp: rate.prefault('300/min'),
  /** Requests per authenticated principal, whatever IP they come from. */
  perPrincipal: rate.prefault('300/min'),
  /** Calls per principal to one tool, keyed <upstream>.<tool>: a costly or fan-out tool's own budget. */
  tools: z.record(z.string().min(3), rate).default({}),
  concurrency: z
    .strictObject({
      /** Requests one principal may have in flight; more wait up to queueTimeout, then are refused. */
      perPrincipal: z.number().int().min(1).default(16),
      /** Requests in flight to one upstream, all principals together. */
      perUpstream: z.number().int().min(1).default(64),
      queueTimeout: duration.default(2000),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      /** Open 2025 client sessions per principal (each may hold a child process). */
      perPrincipal: z.number().int().min(1).default(16),
      total: z.number().int().min(1).default(1000),
    })
    .prefault({}),
  /** Open SSE streams per session (the GET stream and POST answers together). */
  streamsPerSession: z.number().int().min(1).default(16),
  /** A request body must arrive within this time (slow-body / slowloris guard). */
  bodyTimeout: duration.default(30_000),
  /** How long a call that asked a 2026-07-28 client for input waits for the client's retry. */
  inputRequestTimeout: duration.default(10 * 60_000),
  /** Upper bound on `ttlMs` in cacheable 2026-07-28 results (lists change when policy or keys do). */
  maxCacheTtl: z.union([z.literal(0), duration]).default(60_000),
});

const auditSchema = z.strictObject({
  /** Each event as a JSON line on stdout (readable lines when stdout is a terminal). */
  stdout: z.boolean().default(true),
  /** Each event appended to the store's hash chain (portcullis audit verify|tail|query|export). */
  store: z.boolean().default(true),
  /**
   * `<upstream>.<tool>` patterns (* matches any run) whose call arguments and results are
   * recorded, redacted. Nothing is recorded for other tools: arguments often carry personal data.
   */
  logArguments: z.array(z.string().min(1)).default([]),
  /** Rate-limit refusals of one source are recorded once per this window, then summarized (0: each). */
  rateLimitWindow: z.union([z.literal(0), duration]).default(60_000),
  /** Mask emails, phone numbers and card numbers in log lines as well as credentials. */
  redactPersonalData: z.boolean().default(true),
});

/** The aggregated /mcp, served when there are several upstreams. */
const aggregateSchema = z.strictObject({
  /**
   * How long the endpoint waits for one upstream (to start, to initialize, to answer a list) before
   * leaving it out: the others are served, and it joins when it answers again.
   */
  deadline: duration.default(10_000),
});

const metricsSchema = z.strictObject({
  /** Serve Prometheus metrics at /metrics. */
  enabled: z.boolean().default(true),
  /** When set, /metrics needs `Authorization: Bearer <token>` (use ${env:…} or ${file:…}). */
  token: z.string().min(16, { message: 'is too short — use at least 16 random characters' }).optional(),
});

export const configSchema = z
  .strictObject({
    listen: listenSchema.prefault({}),
    /** The URL clients use to reach the gateway; its origin is the one origin browsers may call from. */
    publicUrl: z.string().optional(),
    upstreams: z
      .record(
        z.string().regex(UPSTREAM_NAME, {
          message:
            'is not a valid upstream name — use lower-case letters, digits, - and _ (it appears in URLs)',
        }),
        upstreamSchema,
        {
          error: (issue) =>
            issue.input === undefined
              ? 'is missing — name at least one MCP server to protect under upstreams:'
              : undefined,
        },
      )
      .refine((u) => Object.keys(u).length > 0, {
        message: 'is empty — name at least one MCP server to protect under upstreams:',
      }),
    aggregate: aggregateSchema.prefault({}),
    endpoints: endpointsSchema,
    store: storeSchema.prefault({}),
    auth: authSchema.prefault({}),
    policy: policySchema.prefault({}),
    limits: limitsSchema.prefault({}),
    audit: auditSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    tracing: tracingSchema.prefault({}),
    fleet: fleetSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const prefixed = new Map<string, string>();
    for (const [name, upstream] of Object.entries(c.upstreams)) {
      const prefix = upstream.prefix ?? name;
      const other = prefixed.get(prefix);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['upstreams', name, 'prefix'],
          message: `is ${prefix}, the same as upstreams.${other}'s — each upstream's tools need a prefix of their own on /mcp`,
        });
      }
      prefixed.set(prefix, name);
    }
    const paths = new Map<string, string>();
    for (const [name, endpoint] of Object.entries(c.endpoints)) {
      const path = endpointPath(name, endpoint);
      const other = paths.get(path);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', name, 'path'],
          message: `is ${path}, as endpoints.${other}'s is`,
        });
      paths.set(path, name);
      for (const [i, pattern] of endpoint.include.entries()) {
        const upstream = globToRegExp(pattern.slice(0, pattern.indexOf('.')));
        if (!Object.keys(c.upstreams).some((u) => upstream.test(u)))
          ctx.addIssue({
            code: 'custom',
            path: ['endpoints', name, 'include', i],
            message: `names no configured upstream — the part before the first . is an upstream (${Object.keys(c.upstreams).join(', ')})`,
          });
      }
    }
    const loopback = isLoopbackHost(c.listen.host);
    if (c.publicUrl !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(c.publicUrl);
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['publicUrl'],
          message: 'is not a valid URL — write it like https://mcp.example.com',
        });
      }
      if (url && (url.pathname !== '/' || url.search || url.hash)) {
        ctx.addIssue({
          code: 'custom',
          path: ['publicUrl'],
          message: `must be an origin without a path, like ${url.origin} — serve the gateway at the root of its host`,
        });
      }
      if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        ctx.addIssue({
          code: 'custom',
          path: ['publicUrl'],
          message: 'must be https:// (plain http:// only for a loopback address)',
        });
      }
    } else if (!loopback) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicUrl'],
        message: `is missing — listen.host ${c.listen.host} is not loopback, so set publicUrl to the https:// URL clients use`,
      });
    }
    if (c.store.postgres && c.auth.secret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'secret'],
        message:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax is meant literally
          'is missing — with store.postgres every gateway and the CLI must key API keys and sign tokens with one secret: set auth.secret: ${env:PORTCULLIS_SECRET} (generate one with: openssl rand -base64 48)',
      });
    }
    if (authMethods(c.auth).length === 0 && c.auth.none !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'configures no authentication — add apiKeys, basic, jwt or introspection, or for a loopback-only trial set auth: { none: true }',
      });
    }
    if (c.auth.none === true && !loopback) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'none'],
        message: `is refused because listen.host ${c.listen.host} is reachable from other machines — bind to 127.0.0.1 or configure authentication`,
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type UpstreamConfig = Config['upstreams'][string];
export type PostgresConfig = NonNullable<Config['store']['postgres']>;
