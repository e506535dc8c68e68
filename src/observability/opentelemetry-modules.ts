/**
 * The optional OpenTelemetry packages, loaded with import() only when tracing is configured, so a
 * gateway without tracing never loads them; a missing one is an error that says what to install.
 */
/** The optional packages, with the ranges package.json pins (sdk 2.x needs api < 1.10). */
export const OPENTELEMETRY_PACKAGES = [
  '@opentelemetry/api@~1.9.1',
  '@opentelemetry/sdk-trace-base@^2.12.1',
  '@opentelemetry/exporter-trace-otlp-http@^0.223.1',
  '@opentelemetry/resources@^2.12.1',
  '@opentelemetry/semantic-conventions@^1.45.0',
] as const;

export interface OpenTelemetryModules {
  readonly api: typeof import('@opentelemetry/api');
  readonly sdk: typeof import('@opentelemetry/sdk-trace-base');
  readonly exporter: typeof import('@opentelemetry/exporter-trace-otlp-http');
  readonly resources: typeof import('@opentelemetry/resources');
  readonly semconv: typeof import('@opentelemetry/semantic-conventions');
}

/** Imports the optional packages; a missing one becomes an error that says what to install. */
export async function loadOpenTelemetry(
  load: () => Promise<OpenTelemetryModules> = importOpenTelemetry,
): Promise<OpenTelemetryModules> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      `tracing.endpoint is set but the OpenTelemetry packages are not installed — run npm install ${OPENTELEMETRY_PACKAGES.join(' ')} (or npm install --include=optional), or remove tracing.endpoint`,
      { cause: err },
    );
  }
}

async function importOpenTelemetry(): Promise<OpenTelemetryModules> {
  const [api, sdk, exporter, resources, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  return { api, sdk, exporter, resources, semconv };
}
