/** The `policy:` section: scopes and roles to tools, resources and prompts; read-only; guards. */
import { z } from 'zod';
import { scopeSchema } from './auth-schema.js';
import { insecureUrlReason } from './secure-url.js';
import { duration } from './units.js';

const patterns = z.array(z.string().min(1)).min(1);

export const ruleSchema = z
  .strictObject({
    /** Tool patterns as `<upstream>.<tool>`; `*` matches any run of characters. */
    tools: patterns.optional(),
    /** Resource URI (or URI template) patterns. */
    resources: patterns.optional(),
    /** Prompt patterns as `<upstream>.<prompt>`. */
    prompts: patterns.optional(),
    /** Only for these upstreams (default: all). */
    upstreams: z.array(z.string().min(1)).optional(),
    /** Scopes required on top of the class default; all of them. */
    require: z.array(scopeSchema).min(1, 'is empty — name the scopes this rule requires'),
  })
  .refine((r) => r.tools || r.resources || r.prompts, {
    message: 'names no tools, resources or prompts — add at least one pattern list',
  });

const pathGuardSchema = z.strictObject({
  /** Argument names (dotted for nested objects) that hold a path or an array of paths. */
  args: z.array(z.string().min(1)).min(1),
  /** Directories the paths must stay inside, after resolving `..` and symlinks. */
  roots: z.array(z.string().min(1)).min(1),
  /**
   * A left-out argument is judged by its inputSchema default; without one it is refused unless this
   * is false (the argument is optional and the tool does nothing with a path when it is absent).
   */
  required: z.boolean().default(true),
});

const urlGuardSchema = z.strictObject({
  /** Argument names that hold a URL or an array of URLs. */
  args: z.array(z.string().min(1)).min(1),
  /** URL patterns allowed (`*` wildcards); without it, any public http(s) URL. */
  allow: z.array(z.string().min(1)).optional(),
  /** As for paths: false allows leaving the argument out when the schema gives it no default. */
  required: z.boolean().default(true),
});

const guardsSchema = z.strictObject({
  /**
   * Validate arguments against the tool's own inputSchema before forwarding — for every tool, named
   * here or not; `false` turns it off for this tool.
   */
  schema: z.boolean().default(true),
  paths: pathGuardSchema.optional(),
  urls: urlGuardSchema.optional(),
  maxStringLength: z.number().int().positive().optional(),
  maxArrayItems: z.number().int().positive().optional(),
});

const toolPolicySchema = z.strictObject({
  /** Overrides the upstream's readOnlyHint (annotations come from the upstream and may lie). */
  readOnly: z.boolean().optional(),
  /** Overrides the upstream's destructiveHint. */
  destructive: z.boolean().optional(),
  guards: guardsSchema.prefault({}),
});

/** What a tool that `policy.tools` does not name gets: its arguments checked against its inputSchema. */
export const DEFAULT_TOOL_POLICY: ToolPolicy = toolPolicySchema.parse({});

export const DEFAULT_ROLES: Readonly<Record<string, readonly string[]>> = {
  viewer: ['tools:read', 'resources:read', 'prompts:read'],
  editor: ['tools:read', 'tools:write', 'resources:read', 'prompts:read'],
  admin: ['*'],
};

/**
 * One approval rule: a call is held for a person when every condition the rule names holds. A rule
 * names at least one of `tools`, `class` and `when`.
 */
const approvalRuleSchema = z
  .strictObject({
    /** Tool patterns as `<upstream>.<tool>`; `*` matches any run of characters. */
    tools: patterns.optional(),
    /**
     * The tool's class as the policy judges it (src/policy/policy.ts toolClass, from the upstream's
     * catalog and `policy.tools` overrides): `destructive` — not read-only and `destructiveHint` not
     * false (MCP's default for a tool that is not read-only); `write` — any tool that is not read-only.
     */
    class: z.enum(['write', 'destructive']).optional(),
    /**
     * Argument conditions: each named argument (dotted for nested objects) must equal the value given,
     * e.g. `{ remove_absent: true }`. A missing argument never equals.
     */
    when: z
      .record(z.string().min(1), z.unknown())
      .refine((w) => Object.keys(w).length > 0, {
        message: 'is empty — name the arguments and the values that make the call need an approval',
      })
      .optional(),
  })
  .refine((r) => r.tools || r.class || r.when, {
    message: 'names no tools, class or argument condition — add at least one, e.g. class: destructive',
  });

const webhookSchema = z
  .strictObject({
    /** Where each new approval request is POSTed (https://, or http:// to loopback). */
    url: z.string(),
    /**
     * HMAC-SHA256 key of the X-Portcullis-Signature header; at least 32 characters, from
     * ${env:…} or ${file:…}.
     */
    secret: z
      .string()
      .min(32, 'is too short — use at least 32 random characters, e.g. from openssl rand -hex 32'),
    /**
     * Let the webhook reach a loopback or private address (the gateway otherwise refuses any address
     * that is not public, whatever the URL's host resolves to). For a receiver on the same host.
     */
    allowPrivateAddress: z.boolean().default(false),
    /** How long one delivery may take before it is abandoned (and logged). */
    timeout: duration.default(5000),
  })
  .superRefine((w, ctx) => {
    const reason = insecureUrlReason(w.url, undefined, false);
    if (reason) ctx.addIssue({ code: 'custom', path: ['url'], message: reason });
  });

/** `policy.approval`: calls held until a person with the approve scope says yes (src/policy/approvals.ts). */
const approvalSchema = z
  .strictObject({
    rules: z.array(approvalRuleSchema).default([]),
    /** How long a request waits for a decision (then it expires: denied); an approval is usable this long. */
    ttl: duration.default(5 * 60_000),
    /**
     * How long a call from a client that cannot be sent to the approval page (no URL elicitation) is
     * held open waiting for the decision before it is answered `approval_required` with the link.
     */
    wait: duration.default(30_000),
    /** Whether a principal may approve their own call (off: someone else must). */
    selfApproval: z.boolean().default(false),
    webhook: webhookSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.wait > a.ttl)
      ctx.addIssue({
        code: 'custom',
        path: ['wait'],
        message: `is longer than ttl (${a.ttl} ms) — a call cannot wait for a request that has expired; shorten wait or lengthen ttl`,
      });
  });

export const policySchema = z.strictObject({
  /** Remove every tool that is not read-only from the catalog, and refuse calls to them. */
  readOnly: z.boolean().default(false),
  /** Named scope sets; principals may hold roles as well as scopes. Defaults: viewer, editor, admin. */
  roles: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'is not a valid role name' }),
      z.array(scopeSchema),
    )
    .optional(),
  rules: z.array(ruleSchema).default([]),
  /** Per tool, keyed `<upstream>.<tool>`: class overrides and argument guards. */
  tools: z.record(z.string().min(3), toolPolicySchema).default({}),
  /**
   * Tool pinning (src/policy/pins.ts): `record` pins each tool on first sight and reports drift;
   * `enforce` also hides and refuses a tool whose definition is not the approved one (a tool never
   * approved included) until an operator approves it; `off` does neither.
   */
  pinning: z.enum(['off', 'record', 'enforce']).default('record'),
  approval: approvalSchema.prefault({}),
});

export type PolicyConfig = z.output<typeof policySchema>;
export type ToolPolicy = z.output<typeof toolPolicySchema>;
export type PolicyRule = z.output<typeof ruleSchema>;
export type ApprovalConfig = z.output<typeof approvalSchema>;
export type ApprovalRuleConfig = z.output<typeof approvalRuleSchema>;
