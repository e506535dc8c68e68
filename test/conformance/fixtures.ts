/**
 * The fixtures the MCP conformance suite's server scenarios call (spec 2025-11-25), registered on a
 * fresh McpServer. Names, arguments and results follow the scenario sources of
 * @modelcontextprotocol/conformance; a fixture's comment names the scenario that needs it.
 * One server instance serves one session: its subscription state is per client.
 *
 * With `era: 'modern'` the same server is the base of the 2026-07-28 fixture set (fixtures-2026.ts):
 * the fixtures that only exist as 2025 server->client requests or session state (push-style
 * sampling and elicitation, SSE reconnection, resources/subscribe) are left out, since 2026-07-28
 * replaced them with input_required results and subscriptions/listen.
 */
import {
  type CallToolResult,
  completable,
  fromJsonSchema,
  type GetPromptResult,
  McpServer,
  type McpServerOptions,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';

/** A 1x1 red PNG. */
export const TEST_IMAGE_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
/** A minimal (empty) mono 8 kHz WAV file. */
export const TEST_AUDIO_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const WATCHED_URI = 'test://watched-resource';

/**
 * The inputSchema of json_schema_2020_12_tool, exactly as the json-schema-2020-12 scenario expects
 * to read it back from tools/list: $schema, $defs with $anchor, allOf/anyOf, if/then/else and
 * additionalProperties must all survive (SEP-1613, SEP-2106).
 */
const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a thenable
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const errorText = (what: string, err: unknown) =>
  text(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);

export interface FixtureHooks {
  /**
   * Closes the SSE stream the current request answers on, so the client must reconnect with
   * Last-Event-ID (server-sse-polling, SEP-1699). A no-op where there is no such stream (stdio).
   */
  closeRequestStream(ctx: ServerContext): void;
  /**
   * Tells subscribers that a resource changed. Unset: the 2025 way, notifications/resources/updated
   * to this session when it subscribed with resources/subscribe. A 2026-07-28 server sets it to
   * publish to the subscriptions/listen streams that asked for the URI.
   */
  resourceUpdated?(uri: string): void;
}

export interface ConformanceServerOptions {
  /** legacy (default): the 2025-11-25 fixture set; modern: its part that 2026-07-28 keeps. */
  readonly era?: 'legacy' | 'modern';
  /** Extra McpServer options (the 2026 server's requestState integrity hook). */
  readonly serverOptions?: Omit<McpServerOptions, 'capabilities'>;
  /** The version of test://watched-resource; a fresh one per server unless given. */
  readonly watched?: { version: number };
}

export function createConformanceServer(
  hooks: FixtureHooks,
  options: ConformanceServerOptions = {},
): McpServer {
  const legacy = (options.era ?? 'legacy') === 'legacy';
  const mcp = new McpServer(
    { name: 'portcullis-conformance-server', version: '1.0.0' },
    {
      ...options.serverOptions,
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );

  // ---- tools: content types (tools-call-simple-text, -image, -audio, -embedded-resource, -mixed-content)

  mcp.registerTool('test_simple_text', { description: 'Returns a simple text content block' }, () =>
    text('This is a simple text response for testing.'),
  );

  mcp.registerTool('test_image_content', { description: 'Returns an image content block (PNG)' }, () => ({
    content: [{ type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' }],
  }));

  mcp.registerTool('test_audio_content', { description: 'Returns an audio content block (WAV)' }, () => ({
    content: [{ type: 'audio', data: TEST_AUDIO_BASE64, mimeType: 'audio/wav' }],
  }));

  mcp.registerTool(
    'test_embedded_resource',
    { description: 'Returns an embedded text resource content block' },
    () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  );

  mcp.registerTool(
    'test_multiple_content_types',
    { description: 'Returns text, image and embedded resource content blocks together' },
    () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  );

  // ---- tools: behaviour during a call

  // tools-call-with-logging: three info logs ~50 ms apart, filtered by the client's logging/setLevel.
  mcp.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three log notifications while it runs' },
    async (ctx) => {
      await ctx.mcpReq.log('info', 'Tool execution started', 'conformance');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool processing data', 'conformance');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool execution completed', 'conformance');
      return text('Tool with logging executed successfully');
    },
  );

  // tools-call-with-progress: 0, 50, 100 of 100, only when the caller asked for progress.
  mcp.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0/100, 50/100, 100/100 when given a progressToken' },
    async (ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed ${progress} of 100` },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return text(`Progress reported${progressToken === undefined ? ' (no progressToken given)' : ''}`);
    },
  );

  // tools-call-error: a thrown error becomes a result with isError: true, not a JSON-RPC error.
  mcp.registerTool('test_error_handling', { description: 'Always fails with isError: true' }, () => {
    throw new Error('This tool intentionally returns an error for testing');
  });

  // Push-style fixtures: a 2026-07-28 server has no SSE resumption and sends no requests to the
  // client (its input_required versions are in fixtures-2026.ts).
  if (legacy) {
    // server-sse-polling (SEP-1699): drop the POST's SSE stream mid-call; the result must then reach
    // the client on its GET reconnection with Last-Event-ID, replayed from the event store.
    mcp.registerTool(
      'test_reconnection',
      { description: 'Closes its SSE stream mid-call, then answers after the client reconnects' },
      async (ctx) => {
        hooks.closeRequestStream(ctx);
        await sleep(100);
        return text('Reconnection test completed successfully.');
      },
    );

    // ---- tools: server-to-client requests made during a call

    // tools-call-sampling
    mcp.registerTool(
      'test_sampling',
      {
        description: 'Asks the client to sample an LLM with the given prompt',
        inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
      },
      async ({ prompt }, ctx) => {
        try {
          const result = await ctx.mcpReq.requestSampling({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 100,
          });
          // With tools, content may be an array of blocks; a plain sampling answer is one block.
          const blocks = Array.isArray(result.content) ? result.content : [result.content];
          const reply = blocks
            .map((block) => (block.type === 'text' ? block.text : `[${block.type}]`))
            .join('');
          return text(`LLM response: ${reply}`);
        } catch (err) {
          return { ...errorText('Sampling', err), isError: true };
        }
      },
    );

    // tools-call-elicitation
    mcp.registerTool(
      'test_elicitation',
      {
        description: 'Asks the client for a username and email (form elicitation)',
        inputSchema: z.object({ message: z.string().describe('The message to show the user') }),
      },
      async ({ message }, ctx) => {
        try {
          const result = await ctx.mcpReq.elicitInput({
            message,
            requestedSchema: {
              type: 'object',
              properties: {
                username: { type: 'string', description: "User's response" },
                email: { type: 'string', description: "User's email address" },
              },
              required: ['username', 'email'],
            },
          });
          return text(
            `User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          );
        } catch (err) {
          return { ...errorText('Elicitation', err), isError: true };
        }
      },
    );

    // elicitation-sep1034-defaults: a default for every primitive type.
    mcp.registerTool(
      'test_elicitation_sep1034_defaults',
      { description: 'Elicits a form whose fields all carry default values (SEP-1034)' },
      async (ctx) => {
        try {
          const result = await ctx.mcpReq.elicitInput({
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: {
                  type: 'string',
                  description: 'User status',
                  enum: ['active', 'inactive', 'pending'],
                  default: 'active',
                },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
              required: [],
            },
          });
          return text(
            `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          );
        } catch (err) {
          return { ...errorText('Elicitation', err), isError: true };
        }
      },
    );

    // elicitation-sep1330-enums: the five enum shapes of SEP-1330.
    mcp.registerTool(
      'test_elicitation_sep1330_enums',
      { description: 'Elicits a form with every enum variant (SEP-1330)' },
      async (ctx) => {
        try {
          const result = await ctx.mcpReq.elicitInput({
            message: 'Please select options from the enum fields',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: {
                  type: 'string',
                  description: 'Select one option',
                  enum: ['option1', 'option2', 'option3'],
                },
                titledSingle: {
                  type: 'string',
                  description: 'Select one option with titles',
                  oneOf: [
                    { const: 'value1', title: 'First Option' },
                    { const: 'value2', title: 'Second Option' },
                    { const: 'value3', title: 'Third Option' },
                  ],
                },
                legacyEnum: {
                  type: 'string',
                  description: 'Select one option (legacy enumNames)',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: {
                  type: 'array',
                  description: 'Select several options',
                  minItems: 1,
                  maxItems: 3,
                  items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                },
                titledMulti: {
                  type: 'array',
                  description: 'Select several options with titles',
                  minItems: 1,
                  maxItems: 3,
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First Choice' },
                      { const: 'value2', title: 'Second Choice' },
                      { const: 'value3', title: 'Third Choice' },
                    ],
                  },
                },
              },
              required: [],
            },
          });
          return text(
            `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          );
        } catch (err) {
          return { ...errorText('Elicitation', err), isError: true };
        }
      },
    );
  }

  // json-schema-2020-12: a raw JSON Schema, advertised verbatim (a zod schema would lose keywords).
  mcp.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: fromJsonSchema<Record<string, unknown>>(JSON_SCHEMA_2020_12),
    },
    (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
  );

  // Not called by the suite: changes the watched resource so that a subscribed client gets
  // notifications/resources/updated, for checking that subscriptions work end to end.
  // A 2026-07-28 server is built per request, so it keeps the version in options.watched instead.
  const watched = options.watched ?? { version: 0 };
  const subscriptions = new Set<string>();
  mcp.registerTool(
    'test_touch_watched_resource',
    { description: `Changes ${WATCHED_URI} and notifies its subscribers` },
    async () => {
      watched.version++;
      if (hooks.resourceUpdated) {
        hooks.resourceUpdated(WATCHED_URI);
        return text(`${WATCHED_URI} is now version ${watched.version}; listen streams notified`);
      }
      const notified = subscriptions.has(WATCHED_URI);
      if (notified) await mcp.server.sendResourceUpdated({ uri: WATCHED_URI });
      return text(
        `${WATCHED_URI} is now version ${watched.version}${notified ? '; subscriber notified' : ''}`,
      );
    },
  );

  // ---- resources (resources-list, resources-read-text, -read-binary, -templates-read)

  mcp.registerResource(
    'static-text',
    'test://static-text',
    { title: 'Static text', description: 'A static text resource', mimeType: 'text/plain' },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
      ],
    }),
  );

  mcp.registerResource(
    'static-binary',
    'test://static-binary',
    { title: 'Static binary', description: 'A static binary resource (PNG image)', mimeType: 'image/png' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: TEST_IMAGE_BASE64 }] }),
  );

  mcp.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    {
      title: 'Template data',
      description: 'JSON data for the id in the URI',
      mimeType: 'application/json',
    },
    (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
        },
      ],
    }),
  );

  mcp.registerResource(
    'watched-resource',
    WATCHED_URI,
    { title: 'Watched resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: `Watched resource, version ${watched.version}` },
      ],
    }),
  );

  // resources-subscribe, resources-unsubscribe: McpServer has no subscription handlers of its own.
  // 2026-07-28 removed both methods (subscriptions/listen carries resourceSubscriptions instead).
  if (legacy) {
    mcp.server.setRequestHandler('resources/subscribe', (request) => {
      subscriptions.add(request.params.uri);
      return {};
    });
    mcp.server.setRequestHandler('resources/unsubscribe', (request) => {
      subscriptions.delete(request.params.uri);
      return {};
    });
  }

  // ---- prompts (prompts-list, prompts-get-*) and completion (completion-complete)

  mcp.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));

  const ARG1_SUGGESTIONS = ['paris', 'park', 'party', 'test', 'testing'];
  mcp.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments; arg1 offers completions',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ARG1_SUGGESTIONS.filter((s) => s.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    ({ arg1, arg2 }): GetPromptResult => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );

  mcp.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt embedding the resource named by resourceUri',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    ({ resourceUri }): GetPromptResult => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  mcp.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));

  // logging-set-level and ping are answered by the SDK's Server itself (logging capability above).
  return mcp;
}
