/**
 * The fixtures of the conformance suite's 2026-07-28 server scenarios, on top of the part of the
 * 2025-11-25 set that 2026-07-28 keeps (fixtures.ts with `era: 'modern'`). A 2026-07-28 server is
 * stateless: createMcpHandler builds one of these per HTTP request, so whatever must outlive a
 * request (list mutations, the watched resource, the requestState key) lives in a ModernFixtureState
 * shared by every instance of one process.
 *
 * What 2026-07-28 changes for fixtures:
 *  - sampling, elicitation and roots are no server->client requests any more: a handler returns an
 *    input_required result (`inputRequired(...)`) and reads the client's answers from the retry's
 *    `ctx.mcpReq.inputResponses` (MRTR, SEP-2322);
 *  - requestState round-trips through the client, so it is HMAC-sealed here and every echoed state
 *    is verified before the handler runs (a tampered one answers -32602);
 *  - notifications/message goes out only when the request's `_meta` carries a logLevel;
 *  - list changes and resource updates reach clients on subscriptions/listen streams only.
 */
import { randomBytes } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  createRequestStateCodec,
  fromJsonSchema,
  type InputRequest,
  inputRequired,
  inputResponse,
  type McpServer,
  type RequestStateCodec,
  type ServerContext,
  type ServerNotifier,
} from '@modelcontextprotocol/server';
import { createConformanceServer, text } from './fixtures.js';

/** What a requestState minted here carries: the fixture that minted it, its round, its answers. */
interface FlowState {
  readonly tool: string;
  readonly round: number;
  readonly answers?: Record<string, unknown>;
}

/** Process-wide state behind the per-request server instances. */
export interface ModernFixtureState {
  /** Publishes list changes and resource updates to open subscriptions/listen streams. */
  notify: ServerNotifier | undefined;
  /** Toggled by test_trigger_tool_change: whether test_dynamic_tool is listed. */
  dynamicTool: boolean;
  /** Toggled by test_trigger_prompt_change: whether test_dynamic_prompt is listed. */
  dynamicPrompt: boolean;
  readonly watched: { version: number };
  /** Seals and verifies requestState (HMAC-SHA256, per-process random key, 10 min). */
  readonly codec: RequestStateCodec<FlowState>;
}

export function createModernFixtureState(): ModernFixtureState {
  return {
    notify: undefined,
    dynamicTool: false,
    dynamicPrompt: false,
    watched: { version: 0 },
    codec: createRequestStateCodec<FlowState>({ key: randomBytes(32) }),
  };
}

/** The capabilities the client declared on this request (2026-07-28 has no session to remember them). */
function clientCapabilities(ctx: ServerContext): ClientCapabilities {
  // (The SDK's declared envelope type is empty; the lifted keys are the full reserved names.)
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return (envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? {};
}

const askName = (message = 'What is your name?') =>
  inputRequired.elicit({
    message,
    requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  });

/**
 * The inputSchema of test_custom_header: `x-mcp-header` makes clients mirror `region` into the
 * Mcp-Param-Region header (SEP-2243), which the SDK checks against the body before the handler.
 */
const REGION_SCHEMA = {
  type: 'object',
  properties: { region: { type: 'string', description: 'A region name', 'x-mcp-header': 'Region' } },
  required: ['region'],
};

/** Joins the text blocks of a sampling answer. */
function samplingText(responses: Record<string, unknown> | undefined, key: string): string | undefined {
  const view = inputResponse(responses, key);
  if (view.kind !== 'sampling') return undefined;
  const content = view.result.content;
  const blocks = Array.isArray(content) ? content : [content];
  return blocks.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('');
}

function rootUris(responses: Record<string, unknown> | undefined, key: string): string[] | undefined {
  const view = inputResponse(responses, key);
  return view.kind === 'roots' ? view.roots.map((root) => root.uri) : undefined;
}

/** The accepted content of an elicitation answer; undefined when missing, declined or malformed. */
function accepted(responses: Record<string, unknown> | undefined, key: string) {
  const view = inputResponse(responses, key);
  return view.kind === 'elicit' && view.action === 'accept' ? (view.content ?? {}) : undefined;
}

/** The verified state of this round, when it was minted by `tool` (verification ran before the handler). */
function stateOf(ctx: ServerContext, tool: string): FlowState | undefined {
  const state = ctx.mcpReq.requestState<FlowState>();
  return state !== undefined && typeof state === 'object' && state.tool === tool ? state : undefined;
}

export function createModernConformanceServer(state: ModernFixtureState): McpServer {
  const mcp = createConformanceServer(
    {
      closeRequestStream: () => {},
      resourceUpdated: (uri) => state.notify?.resourceUpdated(uri),
    },
    {
      era: 'modern',
      watched: state.watched,
      // Runs on every round that echoes a requestState, before the handler: a state that fails
      // the MAC (tampered), has expired or is malformed is answered -32602 by the SDK.
      serverOptions: { requestState: { verify: (wire, ctx) => state.codec.verify(wire, ctx) } },
    },
  );
  const seal = (flow: FlowState) => state.codec.mint(flow);

  // ---- MRTR: input_required results (input-required-result-* scenarios, SEP-2322)

  // basic-elicitation, missing-input-response, result-type, ignore-extra-params, validate-input:
  // anything but an accepted answer under user_name (missing, wrong key, not an object) asks again.
  mcp.registerTool(
    'test_input_required_result_elicitation',
    { description: 'Asks for the user name with an input_required elicitation, then greets' },
    (ctx) => {
      const answer = accepted(ctx.mcpReq.inputResponses, 'user_name');
      if (typeof answer?.name !== 'string') {
        return inputRequired({ inputRequests: { user_name: askName() } });
      }
      return text(`Hello, ${answer.name}!`);
    },
  );

  // basic-sampling
  mcp.registerTool(
    'test_input_required_result_sampling',
    { description: 'Asks the client to sample an LLM with an input_required request' },
    (ctx) => {
      const reply = samplingText(ctx.mcpReq.inputResponses, 'capital_question');
      if (reply === undefined) {
        return inputRequired({
          inputRequests: {
            capital_question: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
              maxTokens: 100,
            }),
          },
        });
      }
      return text(`LLM response: ${reply}`);
    },
  );

  // basic-list-roots
  mcp.registerTool(
    'test_input_required_result_list_roots',
    { description: "Asks for the client's roots with an input_required request" },
    (ctx) => {
      const roots = rootUris(ctx.mcpReq.inputResponses, 'client_roots');
      if (roots === undefined) {
        return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      }
      return text(`Client roots: ${roots.join(', ') || '(none)'}`);
    },
  );

  // request-state: the retry must echo the sealed state; the answer says state-ok once it checks.
  mcp.registerTool(
    'test_input_required_result_request_state',
    { description: 'Asks for confirmation with a sealed requestState that the retry must echo' },
    async (ctx) => {
      const tool = 'test_input_required_result_request_state';
      const flow = stateOf(ctx, tool);
      const confirm = accepted(ctx.mcpReq.inputResponses, 'confirm');
      if (flow?.round === 1 && confirm !== undefined) {
        return text(`state-ok: requestState verified, confirmed=${JSON.stringify(confirm.ok ?? null)}`);
      }
      return inputRequired({
        inputRequests: {
          confirm: inputRequired.elicit({
            message: 'Please confirm',
            requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
          }),
        },
        requestState: await seal({ tool, round: 1 }),
      });
    },
  );

  // multiple-input-requests: elicitation, sampling and roots at once; complete when all three came.
  mcp.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for an elicitation, a sampling and the roots in one input_required result' },
    async (ctx) => {
      const tool = 'test_input_required_result_multiple_inputs';
      const responses = ctx.mcpReq.inputResponses;
      const name = accepted(responses, 'user_name')?.name;
      const greeting = samplingText(responses, 'greeting');
      const roots = rootUris(responses, 'client_roots');
      if (stateOf(ctx, tool) && typeof name === 'string' && greeting !== undefined && roots !== undefined) {
        return text(`name=${name}; greeting=${greeting}; roots=${roots.join(', ')}`);
      }
      return inputRequired({
        inputRequests: {
          user_name: askName(),
          greeting: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await seal({ tool, round: 1 }),
      });
    },
  );

  // multi-round: name (round 1), then colour (round 2) with a new state carrying the name.
  mcp.registerTool(
    'test_input_required_result_multi_round',
    { description: 'Asks for a name, then for a colour, carrying the first answer in requestState' },
    async (ctx) => {
      const tool = 'test_input_required_result_multi_round';
      const flow = stateOf(ctx, tool);
      const responses = ctx.mcpReq.inputResponses;
      if (flow?.round === 2) {
        const color = accepted(responses, 'step2')?.color;
        if (typeof color === 'string') {
          return text(`Hello, ${String(flow.answers?.name)}! Your favourite colour is ${color}.`);
        }
      }
      const name = flow?.round === 1 ? accepted(responses, 'step1')?.name : undefined;
      if (flow?.round === 2 || typeof name === 'string') {
        return inputRequired({
          inputRequests: {
            step2: inputRequired.elicit({
              message: 'Step 2: What is your favorite color?',
              requestedSchema: {
                type: 'object',
                properties: { color: { type: 'string' } },
                required: ['color'],
              },
            }),
          },
          requestState: await seal({ tool, round: 2, answers: flow?.round === 2 ? flow.answers : { name } }),
        });
      }
      return inputRequired({
        inputRequests: { step1: askName('Step 1: What is your name?') },
        requestState: await seal({ tool, round: 1 }),
      });
    },
  );

  // tampered-state: an altered requestState never reaches this handler (the verify hook refuses it).
  mcp.registerTool(
    'test_input_required_result_tampered_state',
    { description: 'Asks for confirmation with an HMAC-sealed requestState; altered state is refused' },
    async (ctx) => {
      const tool = 'test_input_required_result_tampered_state';
      if (stateOf(ctx, tool) && accepted(ctx.mcpReq.inputResponses, 'confirm') !== undefined) {
        return text('state-ok: requestState integrity verified');
      }
      return inputRequired({
        inputRequests: {
          confirm: inputRequired.elicit({
            message: 'Please confirm',
            requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
          }),
        },
        requestState: await seal({ tool, round: 1 }),
      });
    },
  );

  // capability-check: only ask for what this request's clientCapabilities declare.
  mcp.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Asks only for the kinds of input the client declared it can give' },
    (ctx) => {
      const caps = clientCapabilities(ctx);
      const responses = ctx.mcpReq.inputResponses;
      const wanted: Record<string, InputRequest> = {};
      if (caps.elicitation && accepted(responses, 'user_name') === undefined) wanted.user_name = askName();
      if (caps.sampling && samplingText(responses, 'summary') === undefined) {
        wanted.summary = inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Summarise the conformance run' } }],
          maxTokens: 50,
        });
      }
      if (caps.roots && rootUris(responses, 'client_roots') === undefined) {
        wanted.client_roots = inputRequired.listRoots();
      }
      if (Object.keys(wanted).length > 0) return inputRequired({ inputRequests: wanted });
      return text(`Done with the declared capabilities: ${Object.keys(caps).join(', ') || '(none)'}`);
    },
  );

  // non-tool-request: prompts/get may answer input_required too.
  mcp.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'A prompt that first asks the user for its context' },
    (ctx) => {
      const context = accepted(ctx.mcpReq.inputResponses, 'user_context')?.context;
      if (typeof context !== 'string') {
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: {
                type: 'object',
                properties: { context: { type: 'string' } },
                required: ['context'],
              },
            }),
          },
        });
      }
      return {
        messages: [{ role: 'user', content: { type: 'text', text: `Prompt with context: ${context}` } }],
      };
    },
  );

  // ---- server-stateless (SEP-2575) diagnostics

  // Needs sampling: round 1 asks for a sampling answer, and the SDK refuses to send that request to
  // a client whose request did not declare sampling with -32021, data.requiredCapabilities
  // { sampling: {} }, HTTP 400. (A thrown MissingRequiredClientCapabilityError would become an
  // isError tool result instead: McpServer turns handler errors into results.)
  mcp.registerTool(
    'test_missing_capability',
    { description: 'Needs the sampling capability; refused with -32021 when the request lacks it' },
    (ctx) => {
      const reply = samplingText(ctx.mcpReq.inputResponses, 'sample');
      if (reply === undefined) {
        return inputRequired({
          inputRequests: {
            sample: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Say something' } }],
              maxTokens: 20,
            }),
          },
        });
      }
      return text(`LLM response: ${reply}`);
    },
  );

  // The response stream of a call needing input carries the input_required result, never a
  // server->client request.
  mcp.registerTool(
    'test_streaming_elicitation',
    { description: 'Reports progress, then asks for input with an input_required result' },
    async (ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress: 1, total: 2, message: 'Waiting for input' },
        });
      }
      const answer = accepted(ctx.mcpReq.inputResponses, 'user_name');
      if (typeof answer?.name !== 'string') return inputRequired({ inputRequests: { user_name: askName() } });
      return text(`Hello, ${answer.name}!`);
    },
  );

  // notifications/message only when the request's _meta asked for a logLevel (the SDK drops the
  // log otherwise).
  mcp.registerTool(
    'test_logging_tool',
    { description: "Logs at info level; the log reaches the client only at its request's logLevel" },
    async (ctx) => {
      await ctx.mcpReq.log('info', 'test_logging_tool ran', 'conformance');
      return text('Logging tool executed');
    },
  );

  // List mutations, announced on subscriptions/listen streams that asked for them.
  mcp.registerTool(
    'test_trigger_tool_change',
    { description: 'Adds or removes test_dynamic_tool and sends tools/list_changed to listeners' },
    () => {
      state.dynamicTool = !state.dynamicTool;
      state.notify?.toolsChanged();
      return text(`test_dynamic_tool is now ${state.dynamicTool ? 'listed' : 'gone'}`);
    },
  );
  mcp.registerTool(
    'test_trigger_prompt_change',
    { description: 'Adds or removes test_dynamic_prompt and sends prompts/list_changed to listeners' },
    () => {
      state.dynamicPrompt = !state.dynamicPrompt;
      state.notify?.promptsChanged();
      return text(`test_dynamic_prompt is now ${state.dynamicPrompt ? 'listed' : 'gone'}`);
    },
  );
  if (state.dynamicTool) {
    mcp.registerTool(
      'test_dynamic_tool',
      { description: 'Listed while test_trigger_tool_change says so' },
      () => text('dynamic tool called'),
    );
  }
  if (state.dynamicPrompt) {
    mcp.registerPrompt(
      'test_dynamic_prompt',
      { description: 'Listed while test_trigger_prompt_change says so' },
      () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'A dynamic prompt.' } }] }),
    );
  }

  // ---- http-custom-header-server-validation (SEP-2243): a string argument mirrored into the
  // Mcp-Param-Region header, which the SDK checks against the body before the handler runs.
  mcp.registerTool(
    'test_custom_header',
    {
      description: 'Echoes its region argument, which clients mirror into the Mcp-Param-Region header',
      inputSchema: fromJsonSchema<{ region: string }>(REGION_SCHEMA),
    },
    ({ region }) => text(`region=${region}`),
  );

  return mcp;
}
