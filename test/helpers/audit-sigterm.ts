/**
 * A process that records audit events and then waits, as a gateway would, with nothing flushed to
 * the store yet; on SIGTERM it does what `portcullis start` must do: record gateway.stop, close the
 * audit log (flushing the queue), close the store, flush the logger, exit 0.
 * Usage: node --import tsx test/helpers/audit-sigterm.ts <db file> <count>
 */
import { AuditLog, jsonSink } from '../../src/audit/audit-log.js';
import { Redactor } from '../../src/audit/redact.js';
import { createLogger } from '../../src/log/logger.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const [file, count] = process.argv.slice(2) as [string, string];
const started = Date.now();
const logger = createLogger({ pii: false });
const store = openSqliteStore(file);
// Nothing is written before SIGTERM: a minute between flushes, and batches larger than the run.
const audit = new AuditLog({
  redactor: new Redactor(),
  sink: jsonSink(logger),
  store: store.audit,
  logger,
  flushInterval: 60_000,
  batchSize: 1_000_000,
});

process.once('SIGTERM', async () => {
  audit.record({
    type: 'gateway.stop',
    reason: 'SIGTERM',
    uptimeMs: Date.now() - started,
    auditDropped: audit.dropped,
  });
  await audit.close();
  await store.close();
  logger.flush();
  process.exit(0);
});

for (let i = 0; i < Number(count); i++) {
  audit.record({
    type: 'policy.decision',
    requestId: `req-${i}`,
    principal: { id: 'api-key:key_1', kind: 'api-key', name: 'ci' },
    clientIp: '127.0.0.1',
    upstream: 'everything',
    method: 'tools/call',
    target: { kind: 'tool', name: 'echo' },
    outcome: 'allowed',
    rule: 'class read',
    latencyMs: 1,
    upstreamStatus: 'ok',
  });
}
process.stderr.write(`recorded ${count}, queued ${audit.queueDepth}\n`);
setInterval(() => {}, 1000);
