/**
 * The gateway's one logger (pino, JSON lines on stdout). Two safety nets apply to every line:
 * pino's path redaction for credential-bearing fields, and a final pass that masks every secret
 * value the config filled from ${env:…}/${file:…}, wherever in the line it ended up.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[REDACTED]';

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
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const mask = secretMasker(options.secrets ?? []);
  return pino(
    {
      level: options.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
      base: { service: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: mask ? { streamWrite: mask } : {},
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Replaces each secret (longest first, so a secret containing another is masked whole) in a line. */
export function secretMasker(secrets: readonly string[]): ((line: string) => string) | undefined {
  // Values under 4 characters would mask ordinary words in every line; they are not secrets worth the name.
  const values = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (values.length === 0) return undefined;
  // Raw, JSON-escaped, URL-encoded and form-encoded (spaces as +, as in OAuth request bodies).
  const forms = values.flatMap((v) => [
    v,
    JSON.stringify(v).slice(1, -1),
    encodeURIComponent(v),
    new URLSearchParams({ v }).toString().slice(2),
  ]);
  const pattern = new RegExp([...new Set(forms)].map(escapeRegExp).join('|'), 'g');
  return (line) => line.replace(pattern, REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
