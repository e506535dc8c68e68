/**
 * `endpoints:` — named virtual servers: a chosen subset of the upstreams' tools and prompts (and
 * the resources of upstreams included whole) at a path of its own, with its own protected-resource
 * metadata and an optional policy overlay. The overlay can only narrow: its rules add required
 * scopes to the base policy's, and its readOnly can turn read-only on, never off.
 */
import { z } from 'zod';
import { ruleSchema } from './policy-schema.js';

/** Path segments the gateway's own routes use. */
const RESERVED = new Set(['admin', 'approvals', 'servers', 'oauth', 'mcp']);

export const ENDPOINT_PATH = /^\/([a-z0-9][a-z0-9_-]{0,62})\/mcp$/;

const endpointSchema = z.strictObject({
  /** Where it is served: `/<segment>/mcp` (default `/<name>/mcp`). */
  path: z
    .string()
    .regex(ENDPOINT_PATH, { message: 'must be /<segment>/mcp with a lower-case segment, e.g. /support/mcp' })
    .refine((p) => !RESERVED.has(ENDPOINT_PATH.exec(p)?.[1] ?? ''), {
      message:
        'uses a segment the gateway serves itself (admin, approvals, servers, oauth, mcp) — pick another',
    })
    .optional(),
  /**
   * `<upstream>.<tool or prompt>` patterns (`*` matches any run of characters): `crm.search_*`
   * serves crm's search tools; `docs.*` serves docs whole, its resources too.
   */
  include: z
    .array(
      z.string().regex(/^[a-z0-9*][a-z0-9_*-]*\..+$/, {
        message: 'must be <upstream>.<tool or prompt pattern>, e.g. crm.search_* or docs.*',
      }),
    )
    .min(1, { message: 'is empty — name what this endpoint serves, e.g. [crm.search_*, docs.*]' }),
  /** Narrows the base policy on this endpoint only. */
  policy: z
    .strictObject({
      readOnly: z.boolean().default(false),
      rules: z.array(ruleSchema).default([]),
    })
    .prefault({}),
});

export const endpointsSchema = z
  .record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
      message: 'is not a valid endpoint name — use lower-case letters, digits, - and _',
    }),
    endpointSchema,
  )
  .default({});

export type EndpointConfig = z.output<typeof endpointSchema>;

/** Where an endpoint is served. */
export function endpointPath(name: string, endpoint: EndpointConfig): string {
  return endpoint.path ?? `/${name}/mcp`;
}
