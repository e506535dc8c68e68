/**
 * How the sign-in and consent pages name a client, and how far that name can be trusted. A
 * self-registered client chose its own name, and a metadata document's name is whatever its host
 * wrote: both headings mark the name as such where it first appears (issue 14), before the person
 * reads on. An operator's static client, and a document client named by its host, need no mark.
 */
import type { OAuthClient } from '../client-metadata.js';
import { html, type SafeHtml } from './html.js';

export type NamedClient = Pick<OAuthClient, 'clientId' | 'kind' | 'clientName'>;

/**
 * The name to show for a client: its registered name, else (for a metadata document) the host
 * that published it, else a plain description. Never empty, so no heading reads "… wants access".
 */
export function clientDisplayName(client: NamedClient): string {
  if (hasName(client)) return client.clientName;
  if (client.kind === 'metadata-document' && URL.canParse(client.clientId))
    return new URL(client.clientId).host;
  return 'An unnamed application';
}

/** The name for a heading, with its mark when the client declared it itself. */
export function clientHeadingName(client: NamedClient): SafeHtml {
  const name = clientDisplayName(client);
  const declaredBy = declaredName(client);
  if (declaredBy === undefined) return html`${name}`;
  return html`${name} <span class="badge badge-unverified name-mark" id="name-mark">${declaredBy}</span>`;
}

/** What the heading's mark says, or undefined when the name is not the client's own claim. */
function declaredName(client: NamedClient): string | undefined {
  if (!hasName(client)) return undefined;
  switch (client.kind) {
    case 'dynamic':
      return 'self-declared name';
    case 'metadata-document':
      return URL.canParse(client.clientId)
        ? `name given by ${new URL(client.clientId).host}`
        : 'unchecked name';
    case 'static':
      return undefined;
    default:
      throw new TypeError(`unknown client kind ${String((client as { kind: unknown }).kind)}`);
  }
}

function hasName(client: NamedClient): client is NamedClient & { clientName: string } {
  return client.clientName !== undefined && client.clientName.trim() !== '';
}
