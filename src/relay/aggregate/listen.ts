/**
 * `subscriptions/listen` on the aggregated endpoint (2026-07-28): one listen per upstream, all on
 * the client's one stream. Each upstream is asked for the resource subscriptions that are its own,
 * under its own URIs; the client gets one acknowledgement (what the upstreams together honour, in
 * the URIs it sent) before anything else, then every upstream's notifications in its form. An
 * upstream that cannot listen is tried again with backoff while the stream is open; when it joins,
 * the client hears that the lists it listens for changed.
 */
import { type Backoff, backoffDelay } from '../../core/backoff.js';
import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, Params } from '../../core/jsonrpc.js';
import { isNotification } from '../../core/jsonrpc.js';
import { META } from '../../core/revisions.js';
import { CallAbandoned } from '../call-table.js';
import type { ModernExchange } from '../modern/exchange.js';
import type { AggregateCatalog } from './catalog.js';
import { exposeUris } from './merge.js';

const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';
const FLAGS = ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const;
const CHANGED: Readonly<Record<(typeof FLAGS)[number], string>> = {
  toolsListChanged: 'notifications/tools/list_changed',
  promptsListChanged: 'notifications/prompts/list_changed',
  resourcesListChanged: 'notifications/resources/list_changed',
};
/** Backoff for an upstream that could not listen: from 1 s, doubling, at most 30 s. */
const RETRY: Backoff = { initialDelay: 1000, maxDelay: 30_000 };

export interface AggregateListen {
  readonly request: JsonRpcRequest;
  readonly exchange: ModernExchange;
  readonly catalog: AggregateCatalog;
  /** How long the acknowledgement waits for each upstream's own. */
  readonly deadlineMs: number;
  /** One upstream's listen, on a fork of the client's exchange; settles when the stream ends. */
  readonly listenOn: (
    upstream: string,
    request: JsonRpcRequest,
    exchange: ModernExchange,
  ) => Promise<unknown>;
  readonly left: (upstream: string, reason: string) => void;
}

/** Runs the listens until the client's stream ends. */
export async function listenAll(listen: AggregateListen): Promise<void> {
  const { request, exchange, catalog } = listen;
  const wanted = (request.params?.notifications ?? {}) as Params;
  const asked = Array.isArray(wanted.resourceSubscriptions)
    ? wanted.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
    : [];
  const members = catalog.members.map((m) => m.upstream);
  const acks = new Map<string, Params>();
  const held: JsonRpcMessage[] = [];
  let acknowledged = false;

  const acknowledge = () => {
    if (acknowledged) return;
    acknowledged = true;
    clearTimeout(timer);
    exchange.notify(merged(acks, request, asked, catalog));
    for (const message of held.splice(0)) exchange.notify(message);
  };
  const timer = setTimeout(acknowledge, listen.deadlineMs);
  const settledOne = (upstream: string, ack: Params) => {
    acks.set(upstream, ack);
    if (acks.size === members.length) acknowledge();
  };

  const retries = new Set<NodeJS.Timeout>();
  const ended = new Promise<void>((resolve) => {
    exchange.onclose = () => {
      for (const timer of retries) clearTimeout(timer);
      resolve();
    };
  });
  /** A member that answers after all: the client re-lists what it listens for. */
  const joined = (ack: Params) => {
    for (const flag of FLAGS) {
      if (wanted[flag] !== true || ack[flag] !== true) continue;
      exchange.notify({
        jsonrpc: '2.0',
        method: CHANGED[flag],
        params: { _meta: { [META.subscriptionId]: request.id } },
      });
    }
  };

  const listenTo = (upstream: string, attempt: number): void => {
    const own = asked.flatMap((uri) => {
      const origin = catalog.routeUri(uri);
      return origin?.upstream === upstream ? [origin.name] : [];
    });
    const forUpstream: JsonRpcRequest = {
      ...request,
      params: { ...request.params, notifications: { ...wanted, resourceSubscriptions: own } },
    };
    const fork = exchange.fork((message) => {
      if (!isNotification(message)) return message;
      if (message.method === ACKNOWLEDGED) {
        const ack = (message.params?.notifications ?? {}) as Params;
        if (attempt === 0) settledOne(upstream, ack);
        else joined(ack);
        return undefined;
      }
      const shown: JsonRpcNotification = message.params
        ? { ...message, params: exposeUris(message.params, upstream, catalog) }
        : message;
      if (acknowledged) return shown;
      held.push(shown);
      return undefined;
    });
    listen.listenOn(upstream, forUpstream, fork).catch((err: unknown) => {
      // The client closing its stream ends every listen: that is no upstream's failure.
      if (err instanceof CallAbandoned || !exchange.open) return;
      listen.left(upstream, (err as Error).message);
      if (attempt === 0) settledOne(upstream, {});
      const timer = setTimeout(
        () => {
          retries.delete(timer);
          listenTo(upstream, attempt + 1);
        },
        backoffDelay(attempt + 1, RETRY),
      );
      timer.unref();
      retries.add(timer);
    });
  };
  for (const upstream of members) listenTo(upstream, 0);
  await ended;
  clearTimeout(timer);
}

/** The one acknowledgement: a flag any upstream honours, and the subscriptions in the client's URIs. */
function merged(
  acks: ReadonlyMap<string, Params>,
  request: JsonRpcRequest,
  asked: readonly string[],
  catalog: AggregateCatalog,
): JsonRpcNotification {
  const notifications: Params = {};
  for (const flag of FLAGS) if ([...acks.values()].some((a) => a[flag] === true)) notifications[flag] = true;
  const honoured = asked.filter((uri) => {
    const origin = catalog.routeUri(uri);
    const subscriptions = origin ? acks.get(origin.upstream)?.resourceSubscriptions : undefined;
    return Array.isArray(subscriptions) && subscriptions.includes(origin?.name);
  });
  if (honoured.length > 0) notifications.resourceSubscriptions = honoured;
  return {
    jsonrpc: '2.0',
    method: ACKNOWLEDGED,
    params: { notifications, _meta: { [META.subscriptionId]: request.id } },
  };
}
