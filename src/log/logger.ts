/**
 * The gateway's one logger (pino, JSON lines on stdout). Two safety nets apply to every line:
 * pino's path redaction for credential-bearing fields (or, for audit events, their own redaction:
 * infoRedacted), and a final pass over the written line
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
    },
    linePass(options.destination ?? stdoutDestination(), redactor),
  );
}

/**
 * The final pass, in the destination rather than a pino hook, so that lines written past pino's
 * serializer (infoRedacted) get it too. pino's flush and flushSync (on SIGTERM, on fatal) go through.
 */
function linePass(destination: DestinationStream, redactor: Redactor): DestinationStream {
  const { flush, flushSync } = destination as {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
  };
  return {
    write: (line: string) => destination.write(redactor.text(line)),
    ...(flush ? { flush: (cb?: (err?: Error) => void) => flush.call(destination, cb) } : {}),
    ...(flushSync ? { flushSync: () => flushSync.call(destination) } : {}),
  };
}

/** What infoRedacted reads of a pino logger: its own destination, bindings and time format. */
interface PinoInternals {
  readonly [pino.symbols.streamSym]: DestinationStream;
  readonly [pino.symbols.chindingsSym]: string;
  readonly [pino.symbols.timeSym]: () => string;
}

/**
 * Logs `{ [key]: value }` at info level, the line exactly as `logger.info({ [key]: value }, msg)`
 * writes it, for a value redacted already: audit events (src/audit/prepare-event.ts masks every
 * field named like a credential at any depth, which covers REDACT_PATHS, and every string by
 * content). pino's path redaction, which clones the object to mask it, and its generic serializer
 * are skipped: they were a third of an audit line's cost. The final line pass still applies.
 */
export function infoRedacted(logger: Logger, key: string, value: unknown, msg: string): void {
  if (!logger.isLevelEnabled('info')) return;
  const internals = logger as unknown as PinoInternals;
  internals[pino.symbols.streamSym].write(
    `{"level":${logger.levels.values.info}${internals[pino.symbols.timeSym]()}${internals[pino.symbols.chindingsSym]},${JSON.stringify(key)}:${JSON.stringify(value)},"msg":${JSON.stringify(msg)}}\n`,
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
