/**
 * Each aggregated endpoint's names, learned before the first client asks: every member upstream is
 * listed (once per start, shared with the policy check), in parallel, and what it offers feeds the catalogs (tool and prompt names, resource
 * schemes). A rename is logged by the catalog as it happens; `renamedLines` says them for
 * check-config.
 */
import type { Logger } from '../log/logger.js';
import type { OfferOf } from '../policy/inspect.js';
import type { AggregateEndpoint } from './aggregates.js';

export async function seedAggregates(
  aggregates: ReadonlyMap<string, AggregateEndpoint>,
  offerOf: OfferOf,
  logger: Logger,
): Promise<void> {
  const endpoints = [...aggregates.values()];
  const members = new Set(endpoints.flatMap((e) => e.router.members));
  await Promise.all(
    [...members].map(async (upstream) => {
      try {
        const offer = await offerOf(upstream);
        for (const { catalog } of endpoints.filter((e) => e.router.members.includes(upstream))) {
          catalog.observe(
            'tool',
            upstream,
            offer.tools.map((t) => String(t.name)),
          );
          catalog.observe(
            'prompt',
            upstream,
            offer.prompts.map((p) => String(p.name)),
          );
          if (!catalog.servesResources(upstream)) continue;
          catalog.observeUris(upstream, offer.resources, 'uri');
          catalog.observeUris(upstream, offer.resourceTemplates, 'uriTemplate');
        }
      } catch (err) {
        logger.warn(
          { upstream, err: (err as Error).message },
          'aggregate: could not list the upstream at start — its names are learned when a client lists them',
        );
      }
    }),
  );
}

/** One line per tool or prompt an aggregated endpoint exposes under a shortened name. */
export function renamedLines(aggregates: ReadonlyMap<string, AggregateEndpoint>): string[] {
  return [...aggregates.values()].flatMap(({ path, catalog }) =>
    (['tool', 'prompt'] as const).flatMap((kind) =>
      catalog
        .renamed(kind)
        .map(
          (r) => `note: ${path} exposes the ${kind} ${r.upstream}.${r.name} as ${r.exposed} (${r.reason})`,
        ),
    ),
  );
}
