/**
 * The targets the bench compares. A target is data, not code: the processes to start (in order),
 * the MCP endpoint path on the last one, and which workloads apply. To add a target (say, Portcullis
 * with API keys and audit switched on), add an entry here; nothing else changes.
 *
 * Placeholders, filled in when the target starts:
 *   {node}         this Node binary (process.execPath)
 *   {everything}   node_modules/@modelcontextprotocol/server-everything/dist/index.js
 *   {root}         the repository root
 *   {port}         a free 127.0.0.1 port picked for this process
 *   {port:ROLE}    the port of an earlier process of the same target, e.g. {port:upstream}
 *   {dir}          a private temporary directory for this target (SQLite files, key files…)
 *   {apikey:ROLE}  in `headers` only: the API key created for the Portcullis process ROLE (`apiKey`)
 */

export interface ProcessSpec {
  /** How the other processes of this target refer to this one ({port:ROLE}); also names its log file. */
  readonly role: string;
  /** `node` arguments (script and its arguments). Exactly one of `node` or `portcullis`. */
  readonly node?: readonly string[];
  /**
   * A Portcullis config (YAML). It is written to a temporary file and started through the real CLI,
   * `node dist/cli/main.js start --config <file>`, as its own process (so its RSS can be measured).
   */
  readonly portcullis?: string;
  /** The process's whole environment besides PATH. */
  readonly env?: Readonly<Record<string, string>>;
  /** Preload test/helpers/loopback-only.mjs: for third-party servers that listen on every interface. */
  readonly loopbackOnly?: boolean;
  /** A GET to this path on {port} gets an HTTP answer (any status) once the process is ready. */
  readonly readyPath: string;
  /**
   * Portcullis only: before the process starts, create an API key with these scopes in its store
   * through the CLI (`portcullis keys create`), for the target's headers to use as {apikey:ROLE}.
   */
  readonly apiKey?: { readonly scopes: readonly string[] };
}

export interface Target {
  readonly name: string;
  /** One line for the report. */
  readonly description: string;
  /** Started in this order and stopped in reverse. The last one is the endpoint clients use and the process whose RSS is measured. */
  readonly processes: readonly ProcessSpec[];
  /** The MCP endpoint on the last process. */
  readonly mcpPath: string;
  /** The reference every other target is compared to (exactly one target). */
  readonly baseline?: boolean;
  /** Measure RSS with idle sessions (targets whose sessions ride an HTTP upstream, or the HTTP server itself). */
  readonly memory?: boolean;
  /** Headers every client request carries (credentials of targets with authentication; {apikey:ROLE}). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The upstream whose warm pool (`warm: N`) the gateway keeps: its memory is read from /readyz. */
  readonly warmPool?: string;
  /** An aggregated endpoint: measured by the aggregate workload only (bench/aggregate.ts). */
  readonly aggregate?: true;
}

/** server-everything in its own Streamable HTTP mode; PORT picks the port, the preload pins 127.0.0.1. */
const everythingHttp = (role: string): ProcessSpec => ({
  role,
  node: ['{everything}', 'streamableHttp'],
  env: { PORT: '{port}' },
  loopbackOnly: true,
  readyPath: '/mcp',
});

/**
 * The common part of every Portcullis config in the bench: the transparent gateway. Every client
 * of the bench is one principal from one IP, so the abuse limits are lifted far above what the
 * workloads do (their bookkeeping still runs); targets for the later issues set real ones.
 */
const transparentYaml = (upstreams: string, extra = ''): string =>
  `listen: { host: 127.0.0.1, port: {port} }
auth: { none: true }
limits:
  perIp: 1000000/s
  perPrincipal: 1000000/s
  concurrency: { perPrincipal: 100000, perUpstream: 100000 }
  sessions: { perPrincipal: 100000, total: 100000 }
upstreams:
${upstreams}
${extra}`;

/** The transparent gateway with the one upstream `everything`. */
const portcullisYaml = (upstream: string, extra = ''): string =>
  transparentYaml(`  everything:\n${upstream}`, extra);

const STDIO_UPSTREAM = `    command: "{node}"
    args: ["{everything}", "stdio"]`;

/**
 * More children than the session set-up workload opens back to back on one target per round
 * (BENCH_SESSION_BATCH, 5): every session of a round gets a warm child.
 */
const WARM = 6;

const HTTP_UPSTREAM = `    url: "http://127.0.0.1:{port:upstream}/mcp"`;

/**
 * Portcullis with an API key and every abuse limit on and counted (per IP, per principal, per tool,
 * concurrency, sessions): each set above what the workloads need, except that
 * concurrency.perPrincipal equals the largest concurrent level (64 calls in flight). The audit
 * trail goes to stdout and SQLite, and tools are pinned (`record`), as by default.
 */
const fullStackYaml = (upstream: string): string =>
  `listen: { host: 127.0.0.1, port: {port} }
store: { sqlite: "{dir}/portcullis.db" }
auth: { apiKeys: {} }
limits:
  perIp: 1000000/min
  perPrincipal: 1000000/min
  tools: { everything.echo: 1000000/min }
  concurrency: { perPrincipal: 64, perUpstream: 128 }
  sessions: { perPrincipal: 256, total: 1000 }
upstreams:
  everything:
${upstream}
`;

/**
 * The aggregated /mcp over three upstreams (issue 17), measured by its own workload
 * (bench/aggregate.ts) against each member's own endpoint on the same gateway.
 */
const AGGREGATE_TARGET: Target = {
  name: 'portcullis-aggregate',
  description:
    'Portcullis CLI, /mcp over three upstreams: server-everything over stdio and over HTTP, server-filesystem over stdio, the stdio ones with warm pools (warm: 6)',
  processes: [
    everythingHttp('upstream'),
    {
      role: 'gateway',
      portcullis: transparentYaml(`  stdio:
${STDIO_UPSTREAM}
    warm: ${WARM}
  web:
${HTTP_UPSTREAM}
  files:
    command: "{node}"
    args: ["{root}/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "{dir}"]
    warm: ${WARM}`),
      readyPath: '/healthz',
    },
  ],
  mcpPath: '/mcp',
  aggregate: true,
};

export const TARGETS: readonly Target[] = [
  {
    name: 'direct-http',
    description: "server-everything's own Streamable HTTP mode, no gateway (the baseline)",
    processes: [everythingHttp('server')],
    mcpPath: '/mcp',
    baseline: true,
    memory: true,
  },
  {
    name: 'pipe',
    description:
      'a bare Node reverse proxy in front of server-everything over HTTP (keep-alive pipe, nothing checked): the floor of one HTTP hop',
    processes: [
      everythingHttp('upstream'),
      { role: 'pipe', node: ['{root}/bench/pipe-proxy.mjs', '{port:upstream}', '{port}'], readyPath: '/mcp' },
    ],
    mcpPath: '/mcp',
  },
  {
    name: 'portcullis-http-full',
    description:
      'portcullis-http with the whole stack on: an API key, the default roles policy and pinning, real abuse limits, audit to stdout and SQLite',
    processes: [
      everythingHttp('upstream'),
      {
        role: 'gateway',
        portcullis: fullStackYaml(HTTP_UPSTREAM),
        apiKey: { scopes: ['*'] },
        readyPath: '/healthz',
      },
    ],
    mcpPath: '/mcp',
    headers: { Authorization: 'Bearer {apikey:gateway}' },
  },
  {
    name: 'stdio-pipe',
    description:
      'a bare Node stdio → HTTP bridge (one child per session, each message a line, answers as plain JSON, nothing checked): the floor of a stdio bridge',
    processes: [
      {
        role: 'pipe',
        node: ['{root}/bench/stdio-pipe.mjs', '{port}', '{node}', '{everything}', 'stdio'],
        readyPath: '/mcp',
      },
    ],
    mcpPath: '/mcp',
  },
  {
    name: 'portcullis-stdio',
    description: 'Portcullis CLI, server-everything over stdio (one child per session)',
    processes: [{ role: 'gateway', portcullis: portcullisYaml(STDIO_UPSTREAM), readyPath: '/healthz' }],
    mcpPath: '/mcp',
  },
  {
    name: 'portcullis-stdio-warm',
    description: `portcullis-stdio with a warm pool (warm: ${WARM}): children started ahead, each handed to one session`,
    processes: [
      {
        role: 'gateway',
        portcullis: portcullisYaml(`${STDIO_UPSTREAM}\n    warm: ${WARM}`),
        readyPath: '/healthz',
      },
    ],
    mcpPath: '/mcp',
    warmPool: 'everything',
  },
  {
    name: 'portcullis-http',
    description:
      'Portcullis CLI, its own server-everything over Streamable HTTP (one upstream session per session)',
    processes: [
      everythingHttp('upstream'),
      { role: 'gateway', portcullis: portcullisYaml(HTTP_UPSTREAM), readyPath: '/healthz' },
    ],
    mcpPath: '/mcp',
    memory: true,
  },
  {
    name: 'portcullis-stdio-redis',
    description: 'portcullis-stdio with its rate limits held in Redis (127.0.0.1:6379), as a fleet would',
    processes: [
      {
        role: 'gateway',
        portcullis: portcullisYaml(STDIO_UPSTREAM, 'store: { redis: "redis://127.0.0.1:6379" }'),
        readyPath: '/healthz',
      },
    ],
    mcpPath: '/mcp',
  },
  {
    name: 'portcullis-stdio-full',
    description:
      'portcullis-stdio with the whole stack on: an API key, the default roles policy and pinning, real abuse limits, audit to stdout and SQLite',
    processes: [
      {
        role: 'gateway',
        portcullis: fullStackYaml(STDIO_UPSTREAM),
        apiKey: { scopes: ['*'] },
        readyPath: '/healthz',
      },
    ],
    mcpPath: '/mcp',
    headers: { Authorization: 'Bearer {apikey:gateway}' },
  },
  {
    name: 'supergateway',
    description: 'supergateway --stateful, stdio → Streamable HTTP (one child per session)',
    processes: [
      {
        role: 'gateway',
        node: [
          '{root}/node_modules/supergateway/dist/index.js',
          '--stdio',
          '"{node}" "{everything}" stdio',
          '--outputTransport',
          'streamableHttp',
          '--stateful',
          '--port',
          '{port}',
          '--streamableHttpPath',
          '/mcp',
          '--healthEndpoint',
          '/healthz',
          '--logLevel',
          'none',
        ],
        loopbackOnly: true,
        readyPath: '/healthz',
      },
    ],
    mcpPath: '/mcp',
  },
  {
    name: 'mcp-proxy',
    description: 'mcp-proxy --server stream, stdio → Streamable HTTP (one child shared by all sessions)',
    processes: [
      {
        role: 'gateway',
        node: [
          '{root}/node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs',
          '--host',
          '127.0.0.1',
          '--port',
          '{port}',
          '--server',
          'stream',
          '--',
          '{node}',
          '{everything}',
          'stdio',
        ],
        loopbackOnly: true,
        readyPath: '/ping',
      },
    ],
    mcpPath: '/mcp',
  },
  AGGREGATE_TARGET,
];
