/**
 * The shape of portcullis.yaml. Every object is strict (unknown keys are errors), every default is
 * the safe one, and every message says what to write instead.
 */
import { z } from 'zod';
import { isLoopbackHost } from '../net/loopback.js';
import { duration, size } from './units.js';

/** Upstream names appear in URLs (/servers/<name>/mcp) and, later, as tool-name prefixes. */
export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const stringMap = z.record(z.string(), z.string({ error: 'must be a string — quote numbers and booleans' }));

const listenSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z
    .number({ error: 'must be a port number from 0 to 65535, e.g. 8787' })
    .int()
    .min(0)
    .max(65535)
    .default(8787),
  /** Host header values accepted besides the public URL's host and, on loopback, the loopback names. */
  allowedHosts: z.array(z.string().min(1)).default([]),
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

const upstreamSchema = z
  .strictObject({
    command: z.string().min(1, 'must not be empty').optional(),
    args: z.array(z.string()).default([]),
    cwd: z.string().min(1).optional(),
    env: stringMap.default({}),
    restart: restartSchema.default({ initialDelay: 250, maxDelay: 30_000 }),
    url: z.string().optional(),
    headers: stringMap.default({}),
    /** The one private host a plain-http URL may name, spelled out so the exception is deliberate. */
    allowPrivateHost: z.string().min(1).optional(),
    /** How long one request may wait for the upstream's answer. */
    timeout: duration.default(60_000),
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
    if (u.url !== undefined) checkUpstreamUrl(u.url, u.allowPrivateHost, ctx);
    if (u.url !== undefined && (u.args.length > 0 || u.cwd !== undefined || Object.keys(u.env).length > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'args, cwd and env only apply to a stdio command — remove them or use command instead of url',
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

/**
 * The Loomio seed's rule: credentials travel to upstreams, so plain http is allowed only where nobody
 * can watch the wire (loopback) or where the operator named the private host explicitly.
 */
function checkUpstreamUrl(raw: string, allowPrivateHost: string | undefined, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: 'is not a valid URL — write it like https://host/mcp',
    });
    return;
  }
  if (url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax is meant literally
      message: 'must not carry a user name or password — put credentials in headers, filled from ${env:NAME}',
    });
  }
  if (url.hash) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'must not have a #fragment — remove it' });
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `uses ${url.protocol} — only https:// (or http:// to loopback) is allowed`,
    });
    return;
  }
  const host = url.hostname;
  if (isLoopbackHost(host)) return;
  if (
    allowPrivateHost !== undefined &&
    host.toLowerCase() === allowPrivateHost.toLowerCase().replace(/^\[|\]$/g, '')
  )
    return;
  ctx.addIssue({
    code: 'custom',
    path: ['url'],
    message: `is plain http:// to ${host} — use https://, or if ${host} is a private host on a trusted network, set allowPrivateHost: ${host} on this upstream`,
  });
}

const authSchema = z.strictObject({
  /** No authentication at all: only accepted on a loopback listener, and said out loud at start. */
  none: z.literal(true, { error: 'can only be true — remove it to require authentication' }).optional(),
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
});

export const configSchema = z
  .strictObject({
    listen: listenSchema.default({ host: '127.0.0.1', port: 8787, allowedHosts: [], allowedOrigins: [] }),
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
    auth: authSchema.default({}),
    limits: limitsSchema.default({
      maxBody: 1024 * 1024,
      maxJsonDepth: 64,
      maxBatch: 20,
      sessionIdleTimeout: 30 * 60_000,
    }),
  })
  .superRefine((c, ctx) => {
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
    const methods = Object.keys(c.auth).filter((k) => k !== 'none');
    if (methods.length === 0 && c.auth.none !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'configures no authentication — add an authentication method, or for a loopback-only trial set auth: { none: true }',
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
