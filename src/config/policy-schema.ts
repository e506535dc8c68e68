/** The `policy:` section: scopes and roles to tools, resources and prompts; read-only; guards. */
import { z } from 'zod';
import { scopeSchema } from './auth-schema.js';

const patterns = z.array(z.string().min(1)).min(1);

const ruleSchema = z
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
});

export type PolicyConfig = z.output<typeof policySchema>;
export type ToolPolicy = z.output<typeof toolPolicySchema>;
export type PolicyRule = z.output<typeof ruleSchema>;
