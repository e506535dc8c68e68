/**
 * The `tracing:` section: OpenTelemetry traces sent to an OTLP/HTTP collector (issue 9). Off unless
 * `endpoint` is set. To be plugged into schema.ts as `tracing: tracingSchema.prefault({})`.
 *
 * ```yaml
 * tracing:
 *   endpoint: https://otel.example.com/v1/traces
 *   headers: { Authorization: "Bearer ${env:OTEL_TOKEN}" }   # collector auth; a secret
 *   sampleRatio: 0.25
 *   resourceAttributes: { deployment.environment.name: prod }
 * ```
 */
import { z } from 'zod';
import { insecureUrlReason } from './secure-url.js';

/** RFC 9110 field names; anything else would be refused by Node when the exporter sends it. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** OpenTelemetry attribute names: lower-case, dotted namespaces. */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_.]{0,127}$/;

export const tracingSchema = z
  .strictObject({
    /**
     * The collector's OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. https://, or
     * plain http:// to loopback or to the host named in allowPrivateHost. Without it, no trace is
     * recorded and the OpenTelemetry packages are never loaded.
     */
    endpoint: z.string().optional(),
    /** The one private host a plain-http endpoint may name, spelled out so the exception is deliberate. */
    allowPrivateHost: z.string().min(1).optional(),
    /**
     * Headers sent with every export, for the collector's own authentication. The values are
     * credentials: fill them from ${env:…} or ${file:…} so they are registered as secrets and masked
     * in every log line.
     */
    headers: z
      .record(
        z.string(),
        z
          .string({ error: 'must be a string — quote numbers and booleans' })
          .refine((v) => !/[\r\n\0]/.test(v), { message: 'must not contain line breaks' }),
      )
      .default({}),
    /** Share of requests traced, from 0 (none) to 1 (all). The decision is per trace, so a request's spans stay whole. */
    sampleRatio: z
      .number({ error: 'must be a number from 0 to 1, e.g. 0.1 to trace one request in ten' })
      .min(0, 'must be at least 0')
      .max(1, 'must be at most 1')
      .default(1),
    /** `service.name` of every span. */
    serviceName: z.string().min(1).max(128).default('portcullis'),
    /** Extra resource attributes, e.g. deployment.environment.name: prod, service.namespace: mcp. */
    resourceAttributes: z
      .record(z.string(), z.string({ error: 'must be a string — quote numbers and booleans' }).max(256))
      .default({}),
  })
  .superRefine((t, ctx) => {
    // Checked here rather than as the record's key schema, so the message names the header.
    for (const name of Object.keys(t.headers))
      if (!HEADER_NAME.test(name))
        ctx.addIssue({
          code: 'custom',
          path: ['headers', name],
          message: 'is not a valid HTTP header name — use letters, digits and -',
        });
    for (const name of Object.keys(t.resourceAttributes))
      if (!ATTRIBUTE_NAME.test(name))
        ctx.addIssue({
          code: 'custom',
          path: ['resourceAttributes', name],
          message: 'is not an attribute name — use lower-case dotted names like deployment.environment.name',
        });
    for (const key of ['service.name', 'service.version'])
      if (key in t.resourceAttributes)
        ctx.addIssue({
          code: 'custom',
          path: ['resourceAttributes', key],
          message: `is set by the gateway — remove it (the service name is tracing.serviceName)`,
        });
    if (t.endpoint === undefined) {
      if (Object.keys(t.headers).length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['headers'],
          message:
            'are set but tracing.endpoint is missing — set endpoint to the collector URL, or remove headers',
        });
      return;
    }
    const reason = insecureUrlReason(t.endpoint, t.allowPrivateHost, true);
    if (reason) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: reason });
      return;
    }
    // A query string would be a credential in a URL that the exporter may put in its errors.
    if (new URL(t.endpoint).search)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax is meant literally
          'must not have a ?query — put collector credentials in tracing.headers, filled from ${env:NAME}',
      });
  });

export type TracingConfig = z.output<typeof tracingSchema>;
