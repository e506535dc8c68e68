/**
 * Where audit events go as they are recorded (stdout): JSON lines through the logger, or readable
 * lines (describe-event.ts) when stdout is a terminal.
 */
import { infoRedacted, type Logger } from '../log/logger.js';
import { describeEvent } from './describe-event.js';
import type { AuditEvent } from './events.js';

/** Where events go as they are recorded (stdout): one line each. */
export interface AuditSink {
  write(event: AuditEvent): void;
}

/**
 * JSON lines through pino: `{"level":30,"time":…,"service":"portcullis","audit":{…event},"msg":"audit <type>"}`.
 * The event is redacted already (prepare-event.ts), so it skips pino's path redaction.
 */
export function jsonSink(logger: Logger): AuditSink {
  return { write: (event) => infoRedacted(logger, 'audit', event, `audit ${event.type}`) };
}

/** One readable line per event, for a terminal. */
export function prettySink(stream: { write(line: string): unknown }): AuditSink {
  return { write: (event) => void stream.write(`${describeEvent(event)}\n`) };
}

/** JSON lines through `logger`, or readable lines when `stream` is a terminal. */
export function stdoutSink(
  logger: Logger,
  stream: { isTTY?: boolean; write(line: string): unknown } = process.stdout,
): AuditSink {
  return stream.isTTY ? prettySink(stream) : jsonSink(logger);
}
