/** The shared services every later step uses: TLS files, limiters, the store, metrics, traces, audit. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AuditLog, stdoutSink } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/events.js';
import { Redactor } from '../audit/redact.js';
import type { LoadedConfig } from '../config/load.js';
import { RateLimiters } from '../limits/rate-limiters.js';
import { type LimitStages, limitStages } from '../limits/stages.js';
import type { Logger } from '../log/logger.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { createTracing, type Tracing } from '../observability/tracing.js';
import { type OpenedStore, openStore } from '../store/open.js';
import type { Closer } from './closer.js';

export interface Services {
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly limiters: RateLimiters;
  readonly limits: LimitStages;
  readonly keyStore: OpenedStore | undefined;
  readonly metrics: GatewayMetrics | undefined;
  readonly tracing: Tracing;
  readonly auditLog: AuditLog;
}

export async function openServices(loaded: LoadedConfig, logger: Logger, closer: Closer): Promise<Services> {
  const { config, baseDir } = loaded;
  // Read before anything that holds a connection or a file open, so that a bad path fails cleanly.
  const tls = config.listen.tls
    ? {
        cert: readPem(baseDir, 'cert', config.listen.tls.cert),
        key: readPem(baseDir, 'key', config.listen.tls.key),
      }
    : undefined;
  const limiters = closer.add('limiters', await RateLimiters.create(config.store.redis, logger), (l) =>
    l.close(),
  );
  const keyStore =
    config.auth.apiKeys || config.auth.oauth || config.audit.store
      ? closer.add('store', await openStore(config, baseDir, { logger }), (s) => s.store.close())
      : undefined;
  const metrics = config.metrics.enabled
    ? new GatewayMetrics({ upstreams: Object.keys(config.upstreams) })
    : undefined;
  const tracing = closer.add(
    'tracing',
    await createTracing({ ...config.tracing, logger, secrets: loaded.secrets }),
    (t) => t.shutdown(),
  );
  // Every event recorded before close reaches the store: the audit log closes before the store does.
  const auditLog = closer.add(
    'audit',
    new AuditLog({
      redactor: new Redactor(loaded.secrets, { pii: config.audit.redactPersonalData }),
      ...(config.audit.stdout ? { sink: stdoutSink(logger) } : {}),
      ...(config.audit.store && keyStore ? { store: keyStore.store.audit } : {}),
      logger,
      logArguments: config.audit.logArguments,
      rateLimitWindow: config.audit.rateLimitWindow,
      ...(metrics ? { onEvent: (event: AuditEvent) => metrics.countEvent(event) } : {}),
    }),
    (log) => log.close(),
  );
  return {
    tls,
    limiters,
    limits: limitStages(config.limits, limiters),
    keyStore,
    metrics,
    tracing,
    auditLog,
  };
}

function readPem(baseDir: string, field: 'cert' | 'key', path: string): Buffer {
  const file = resolve(baseDir, path);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(
      `cannot read listen.tls.${field} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}) — check the path and its permissions`,
    );
  }
}
