/**
 * What the resources carried inside an answer may show: every embedded resource (`resource`, judged
 * by `resource.uri`) and every `resource_link` (by `uri`) goes through the same per-resource decision
 * as resources/read — in tools/call results (`content`), prompts/get results (`messages[].content`),
 * sampling requests (`messages[].content`, and the content of their tool results) and the requests of
 * a 2026 `input_required` round — and so does each of a resources/read result's `contents` (a read
 * may answer with sub-resources, each with its own URI). A denied one is replaced by a short text
 * item (for contents, text contents at the same URI) saying it was withheld
 * and why, marked `_meta["portcullis/withheld"]` with its URI, never dropped without a trace. The same
 * marker in an upstream's own items is stripped, so a marker always means the gateway withheld
 * something (the audit trail counts them, withheldIn). `structuredContent` is passed as it is: its
 * shape is the tool's own, with no content items to find in it.
 */
import type { Params } from '../core/jsonrpc.js';

/** The `_meta` key of a withheld item's replacement; its value is the withheld URI. */
export const WITHHELD_META = 'portcullis/withheld';

/**
 * What this module reads of the policy's Decision (declared here, not imported: the audit trail reads
 * the markers through this module, and the policy's modules reach the audit's).
 */
export interface ResourceVerdict {
  readonly allowed: boolean;
  readonly missing: readonly (readonly string[])[];
  readonly rule: string;
}

/** The policy's decision on one resource URI, for one principal (Gatekeeper.resourceDecider). */
export type ResourceDecider = (uri: string) => ResourceVerdict;

/** A value with the denied resources replaced, and their URIs in the order met. */
export interface Screened<T> {
  readonly value: T;
  readonly withheld: readonly string[];
}

/** Stands for an embedded resource or link that names no URI: it cannot be judged, so it is withheld. */
const NO_URI = '(no uri)';

/**
 * A tools/call, prompts/get or resources/read result (or any result asking for input) with denied
 * resources withheld.
 */
export function screenResult(method: string, result: Params, decide: ResourceDecider): Screened<Params> {
  const withheld: string[] = [];
  let value = result;
  if (method === 'resources/read' && Array.isArray(result.contents))
    value = { ...value, contents: result.contents.map((item) => screenContents(item, decide, withheld)) };
  if (method === 'tools/call' && Array.isArray(result.content))
    value = { ...value, content: screenBlocks(result.content, decide, withheld) };
  if (method === 'prompts/get' && Array.isArray(result.messages))
    value = { ...value, messages: screenMessages(result.messages, decide, withheld) };
  if (result.resultType === 'input_required' && isObject(result.inputRequests)) {
    const screened = screenInputRequests(result.inputRequests, decide);
    withheld.push(...screened.withheld);
    value = { ...value, inputRequests: screened.value };
  }
  return { value, withheld };
}

/**
 * A request from the server to the client with denied resources withheld: sampling/createMessage
 * messages (elicitation/create carries no content items: its message is a string, its schema plain
 * fields). Any other method's params are returned as they are.
 */
export function screenServerRequest(
  method: string,
  params: Params | undefined,
  decide: ResourceDecider,
): Screened<Params | undefined> {
  const withheld: string[] = [];
  if (method !== 'sampling/createMessage' || !params || !Array.isArray(params.messages))
    return { value: params, withheld };
  return { value: { ...params, messages: screenMessages(params.messages, decide, withheld) }, withheld };
}

/** A 2026 `inputRequests` map (key → { method, params }) with each request screened. */
export function screenInputRequests(inputRequests: unknown, decide: ResourceDecider): Screened<unknown> {
  if (!isObject(inputRequests)) return { value: inputRequests, withheld: [] };
  const withheld: string[] = [];
  const value: Params = {};
  for (const [key, request] of Object.entries(inputRequests)) {
    if (!isObject(request) || typeof request.method !== 'string' || !isObject(request.params)) {
      value[key] = request;
      continue;
    }
    const screened = screenServerRequest(request.method, request.params, decide);
    withheld.push(...screened.withheld);
    value[key] = { ...request, params: screened.value };
  }
  return { value, withheld };
}

/**
 * The URIs the gateway withheld from a `method` result it sent: its markers, read where screenResult
 * screens (and so stripped the upstream's own).
 */
export function withheldIn(method: string, result: Params): string[] {
  const blocks = [
    ...(method === 'resources/read' && Array.isArray(result.contents) ? result.contents : []),
    ...(method === 'tools/call' && Array.isArray(result.content) ? result.content : []),
    ...(method === 'prompts/get' && Array.isArray(result.messages)
      ? result.messages.flatMap(messageBlocks)
      : []),
    ...(result.resultType === 'input_required' && isObject(result.inputRequests)
      ? Object.values(result.inputRequests).flatMap((request) =>
          isObject(request) && isObject(request.params) && Array.isArray(request.params.messages)
            ? request.params.messages.flatMap(messageBlocks)
            : [],
        )
      : []),
  ];
  return blocks.flatMap((block) => {
    const uri = isObject(block) && isObject(block._meta) ? block._meta[WITHHELD_META] : undefined;
    return typeof uri === 'string' ? [uri] : [];
  });
}

function messageBlocks(message: unknown): unknown[] {
  if (!isObject(message)) return [];
  const content = message.content;
  return Array.isArray(content) ? content : [content];
}

function screenMessages(messages: unknown[], decide: ResourceDecider, withheld: string[]): unknown[] {
  return messages.map((message) => {
    if (!isObject(message) || message.content === undefined) return message;
    const content = Array.isArray(message.content)
      ? screenBlocks(message.content, decide, withheld)
      : screenBlock(message.content, decide, withheld);
    return { ...message, content };
  });
}

function screenBlocks(blocks: unknown[], decide: ResourceDecider, withheld: string[]): unknown[] {
  return blocks.map((block) => screenBlock(block, decide, withheld));
}

function screenBlock(block: unknown, decide: ResourceDecider, withheld: string[]): unknown {
  if (!isObject(block)) return block;
  if (block.type === 'resource' || block.type === 'resource_link') {
    const uri =
      block.type === 'resource' ? (isObject(block.resource) ? block.resource.uri : undefined) : block.uri;
    if (typeof uri !== 'string') {
      withheld.push(NO_URI);
      return marker(NO_URI, 'it names no URI, so the policy cannot judge it');
    }
    const decision = decide(uri);
    if (!decision.allowed) {
      withheld.push(uri);
      return marker(uri, reason(decision));
    }
  }
  const clean = withoutForgedMarker(block);
  // A sampling tool result carries content blocks of its own.
  if (clean.type === 'tool_result' && Array.isArray(clean.content))
    return { ...clean, content: screenBlocks(clean.content, decide, withheld) };
  return clean;
}

/** One item of a resources/read result: judged by its own URI; a denied one keeps the URI, loses the data. */
function screenContents(item: unknown, decide: ResourceDecider, withheld: string[]): unknown {
  if (!isObject(item)) return item;
  const uri = typeof item.uri === 'string' ? item.uri : undefined;
  const decision = uri === undefined ? undefined : decide(uri);
  if (uri !== undefined && decision?.allowed) return withoutForgedMarker(item);
  const shown = uri ?? NO_URI;
  withheld.push(shown);
  const why = decision ? reason(decision) : 'it names no URI, so the policy cannot judge it';
  const { type: _block, ...text } = marker(shown, why);
  return { uri: shown, mimeType: 'text/plain', ...text };
}

function marker(uri: string, why: string): Params {
  return {
    type: 'text',
    text: `[portcullis: resource ${uri} withheld: ${why}]`,
    _meta: { [WITHHELD_META]: uri },
  };
}

function reason(decision: ResourceVerdict): string {
  if (decision.missing.length === 0) return `refused by the policy (${decision.rule})`;
  const needs = decision.missing.map((alternatives) => alternatives.join(' or ')).join(', and ');
  return `requires scope ${needs}`;
}

function withoutForgedMarker(block: Params): Params {
  if (!isObject(block._meta) || !Object.hasOwn(block._meta, WITHHELD_META)) return block;
  const { [WITHHELD_META]: _forged, ...meta } = block._meta;
  return { ...block, _meta: meta };
}

function isObject(value: unknown): value is Params {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
