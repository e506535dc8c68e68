/**
 * Which registration mode a client id belongs to, by its form: an https URL is a Client ID
 * Metadata Document, `pcd_…` a signed open registration, `pcc_…` a pre-registered client. A mode the
 * operator switched off resolves nothing, so turning `registration: open` off also retires every
 * client that registered while it was on.
 */

import type { DynamicClients } from './client-id.js';
import { isDynamicClientId } from './client-id.js';
import type { OAuthClient } from './client-metadata.js';
import type { ClientMetadataDocuments } from './client-metadata-document.js';
import { isMetadataDocumentClientId } from './client-metadata-document.js';
import { OAuthError } from './errors.js';
import type { StaticClients } from './static-clients.js';
import { isStaticClientId } from './static-clients.js';

export interface OAuthClientsOptions {
  /** Present when `registration: open`. */
  readonly dynamic?: DynamicClients;
  /** Present when `registration: static`. */
  readonly static?: StaticClients;
  /** Present when client metadata documents are accepted. */
  readonly metadataDocuments?: ClientMetadataDocuments;
}

export class OAuthClients {
  constructor(private readonly options: OAuthClientsOptions) {}

  /** The client behind `clientId`, or invalid_client saying why it is not accepted. */
  async resolve(clientId: string): Promise<OAuthClient> {
    const { dynamic, metadataDocuments } = this.options;
    const statics = this.options.static;
    if (isMetadataDocumentClientId(clientId)) {
      if (metadataDocuments) return metadataDocuments.client(clientId);
      throw new OAuthError(
        'invalid_client',
        'this server does not accept client metadata documents (URL client ids) — use a registered client',
      );
    }
    if (isDynamicClientId(clientId)) {
      if (dynamic) return dynamic.client(clientId);
      throw new OAuthError(
        'invalid_client',
        'dynamic client registration is off on this server, so this client id is not accepted',
      );
    }
    if (isStaticClientId(clientId) && statics) return statics.client(clientId);
    throw new OAuthError('invalid_client', 'the client id is not known');
  }

  /** Whether `secret` is the client's secret; always false for a public client. */
  async verifySecret(client: OAuthClient, secret: string): Promise<boolean> {
    switch (client.kind) {
      case 'dynamic':
        return this.options.dynamic?.verifySecret(client, secret) ?? false;
      case 'static':
        return (await this.options.static?.verifySecret(client, secret)) ?? false;
      case 'metadata-document':
        return false;
      default:
        throw new Error(`unknown client kind ${String((client as { kind: unknown }).kind)}`);
    }
  }
}
