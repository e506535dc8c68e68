/**
 * The gateway's one logger (pino, JSON lines on stdout). Two safety nets apply to every line:
 * pino's path redaction for credential-bearing fields, and a final pass over the written line
 * (src/audit/redact.ts) that masks every secret value the config filled from ${env:…}/${file:…},
 * credentials by their shape (Bearer/Basic values, JWTs, pcl_ keys, password=…), URL query strings
 * and, unless turned off, emails, phone numbers and card numbers — wherever in the line they ended up.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { REDACTED, Redactor, secretMasker } from '../audit/redact.js';
import { stdoutDestination } from './stdout-destination.js';

export type { Logger } from 'pino';
export { REDACTED, secretMasker };

const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  ...[
    'password',
    'token',
    'secret',
    'clientSecret',
    'client_secret',
    'access_token',
    'refresh_token',
  ].flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export interface LoggerOptions {
  readonly level?: string;
  /** Secret values to mask in every line. */
  readonly secrets?: readonly string[];
  /** Where lines go; stdout by default. Tests pass a capture. */
  readonly destination?: DestinationStream;
  /**
   * Mask emails, phone numbers and card numbers too (default true). The audit trail's stdout logger
   * turns it off: its events are redacted before they are written, keeping who acted readable.
   */
  readonly pii?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const redactor = new Redactor(options.secrets ?? [], { pii: options.pii ?? true });
  return pino(
    {
      level: options.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
      base: { service: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: (line) => redactor.text(line) },
    },
    options.destination ?? stdoutDestination(),
  );
}

/**
 * Resolves once every line logged so far is written (stdout is written in batches), or after
 * `timeoutMs` when the reader of stdout is stalled; pino's exit hook then writes what is left.
 */
export function flushLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, timeoutMs);
    logger.flush(() => {
      clearTimeout(timer);
      done();
    });
  });
}
