/**
 * Lists everything an upstream offers (tools, resources, resource templates, prompts), as a client
 * that declares every capability would see it: for `policy explain` and the start-up policy check.
 */

import type { Params } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import { gatewayEnvelope } from '../relay/modern/envelope.js';
import { UpstreamLink } from '../relay/upstream-link.js';
import type { Connector } from '../upstream/connection.js';

export interface UpstreamOffer {
  readonly tools: Params[];
  readonly resources: Params[];
  readonly resourceTemplates: Params[];
  readonly prompts: Params[];
}

/** The names policy rules match in an offer: tool and prompt names, resource URIs and templates. */
export function offeredNames(offer: UpstreamOffer): {
  tools: string[];
  resources: string[];
  prompts: string[];
} {
  return {
    tools: offer.tools.map((t) => String(t.name)),
    resources: [
      ...offer.resources.map((r) => String(r.uri)),
      ...offer.resourceTemplates.map((r) => String(r.uriTemplate)),
    ],
    prompts: offer.prompts.map((p) => String(p.name)),
  };
}

const LISTS = [
  ['tools/list', 'tools'],
  ['resources/list', 'resources'],
  ['resources/templates/list', 'resourceTemplates'],
  ['prompts/list', 'prompts'],
] as const;
const MAX_PAGES = 100;

export async function inspectUpstream(
  name: string,
  connector: Connector,
  modern: boolean,
  logger: Logger,
): Promise<UpstreamOffer> {
  const link = new UpstreamLink({
    name,
    connector,
    timeoutMs: 30_000,
    restart: { initialDelay: 250, maxDelay: 1000 },
    logger,
  });
  await link.start();
  try {
    const meta = modern ? { _meta: gatewayEnvelope() } : {};
    const ask = async (method: string, params: Params = {}): Promise<Params> => {
      const answer = await link.request({ jsonrpc: '2.0', id: 0, method, params: { ...params, ...meta } })
        .response;
      return 'result' in answer ? answer.result : {};
    };
    let capabilities: Params;
    if (modern) {
      capabilities = ((await ask('server/discover')).capabilities as Params | undefined) ?? {};
    } else {
      const init = await ask('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} },
        clientInfo: { name: 'portcullis-inspect', version: '0.1.0' },
      });
      capabilities = (init.capabilities as Params | undefined) ?? {};
      link.notify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    }
    const offer: Record<string, Params[]> = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
    for (const [method, field] of LISTS) {
      const capability = field === 'resourceTemplates' ? 'resources' : field;
      if (!capabilities[capability]) continue;
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await ask(method, cursor ? { cursor } : {});
        offer[field]?.push(...((result[field] as Params[] | undefined) ?? []));
        cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
        if (!cursor) break;
      }
    }
    return offer as unknown as UpstreamOffer;
  } finally {
    await link.close();
  }
}

/** What an upstream offers, listed at most once per start however many checks ask. */
export type OfferOf = (upstream: string) => Promise<UpstreamOffer>;

export function offerCache(
  upstreams: Readonly<Record<string, { readonly protocol: string }>>,
  connectors: ReadonlyMap<string, Connector>,
  logger: Logger,
): OfferOf {
  const offers = new Map<string, Promise<UpstreamOffer>>();
  return (upstream) => {
    let offer = offers.get(upstream);
    if (!offer) {
      const connector = connectors.get(upstream);
      offer = connector
        ? inspectUpstream(upstream, connector, upstreams[upstream]?.protocol === '2026-07-28', logger)
        : Promise.reject(new Error(`no upstream ${upstream}`));
      offers.set(upstream, offer);
    }
    return offer;
  };
}
