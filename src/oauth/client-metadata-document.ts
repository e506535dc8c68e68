/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; the registration MCP
 * 2025-11-25 and 2026-07-28 prefer): the client_id is an https URL with a path, and the document
 * there is the registration. Fetching a URL a stranger chose is an SSRF risk, so:
 * - the host is resolved here and every address must be public unicast (src/net/public-address.ts),
 *   and the socket connects to the address that was checked, so a second DNS answer cannot
 *   rebind the name to an internal address between the check and the connect;
 * - only a 200 is accepted: redirects are not followed (the draft forbids it, and a redirect is
 *   a way around the address check);
 * - the body is cut at 5 KiB (the draft's suggested limit: a document is a name and a few URIs,
 *   well under 1 KiB, and every byte is work an unauthenticated /authorize can make us do) and
 *   the whole exchange at 5 s;
 * - a document is cached for its Cache-Control max-age, held between 1 minute (so a stream of
 *   /authorize requests cannot make us fetch again and again) and 24 hours (so a changed document
 *   is seen within a day); concurrent requests for one URL share one fetch; failures are not cached.
 * The document itself must name the URL as its client_id, hold no client secret, and use no
 * client authentication (a public client: PKCE is its proof).
 */
import { lookup } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { LRUCache } from 'lru-cache';
import { addressRange } from '../net/public-address.js';
import { clientFromMetadata, type OAuthClient, parseClientMetadata } from './client-metadata.js';
import { OAuthError } from './errors.js';
import { hasUnsafeCharacter, isLoopbackRedirectUri } from './redirect-uri.js';

export const CIMD_MAX_BYTES = 5 * 1024;
export const CIMD_TIMEOUT_MS = 5000;
const MIN_CACHE_MS = 60_000;
const DEFAULT_CACHE_MS = 5 * 60_000;
const MAX_CACHE_MS = 24 * 3_600_000;
const MAX_CLIENT_ID_URL = 2048;

/** A client known by its metadata document, with what the consent page must warn about. */
export interface MetadataDocumentClient extends OAuthClient {
  readonly kind: 'metadata-document';
  /** Every redirect URI is http to loopback: any local program could be the "client". */
  readonly loopbackOnly: boolean;
}

export interface ClientMetadataDocumentsOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  /** Most documents kept in memory at once. */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** Host name to addresses; the system resolver by default. Every answer is still checked. */
  readonly resolve?: (host: string) => Promise<string[]>;
}

/**
 * For tests only, and never set by the gateway: a test can serve a document only on loopback, with
 * a certificate of its own. No config option reaches this; production always refuses loopback.
 */
export interface LoopbackTestOverride {
  readonly allowLoopbackForTests: true;
  /** The test server's CA certificate (PEM). */
  readonly ca: string;
}

/** True when the client id is meant as a metadata document URL (rather than an opaque id). */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/** Why `clientId` cannot be a metadata document URL (draft §3), or undefined when it can. */
export function clientIdUrlProblem(clientId: string): string | undefined {
  if (!clientId.startsWith('https://')) return 'must start with https://';
  if (clientId.length > MAX_CLIENT_ID_URL) return `is longer than ${MAX_CLIENT_ID_URL} characters`;
  if (hasUnsafeCharacter(clientId)) return 'contains whitespace, a control character or a backslash';
  if (clientId.includes('#')) return 'must not have a #fragment';
  const rest = clientId.slice('https://'.length);
  const authority = rest.split(/[/?]/, 1)[0] ?? '';
  if (authority.includes('@')) return 'must not carry a user name or password';
  if (!URL.canParse(clientId)) return 'is not a valid URL';
  const rawPath = rest.slice(authority.length).split('?', 1)[0] ?? '';
  if (rawPath === '' || rawPath === '/')
    return 'must have a path (like https://app.example.com/oauth/client.json)';
  // Checked on the raw text: URL parsing would quietly resolve them away.
  if (rawPath.split('/').some((s) => /^(?:\.|%2e){1,2}$/i.test(s)))
    return 'must not contain . or .. path segments';
  return undefined;
}

interface CacheEntry {
  readonly client: MetadataDocumentClient;
  readonly expiresAt: number;
}

export class ClientMetadataDocuments {
  private readonly cache: LRUCache<string, CacheEntry>;
  private readonly inFlight = new Map<string, Promise<MetadataDocumentClient>>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly resolveHost: (host: string) => Promise<string[]>;

  constructor(
    options: ClientMetadataDocumentsOptions = {},
    private readonly testOverride?: LoopbackTestOverride,
  ) {
    this.timeoutMs = options.timeoutMs ?? CIMD_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? CIMD_MAX_BYTES;
    if (!(this.timeoutMs > 0) || !(this.maxBytes > 0))
      throw new TypeError('timeoutMs and maxBytes must be positive');
    this.cache = new LRUCache({ max: options.maxEntries ?? 1000 });
    this.now = options.now ?? Date.now;
    this.resolveHost =
      options.resolve ??
      ((host) => lookup(host, { all: true, verbatim: true }).then((found) => found.map((a) => a.address)));
  }

  /** The client the document at `clientId` describes; invalid_client naming the reason otherwise. */
  async client(clientId: string): Promise<MetadataDocumentClient> {
    const problem = clientIdUrlProblem(clientId);
    if (problem) throw refuse(`the client_id URL ${problem}`);
    const cached = this.cache.get(clientId);
    if (cached && cached.expiresAt > this.now()) return cached.client;
    const pending = this.inFlight.get(clientId);
    if (pending) return pending;
    const loading = this.load(clientId).finally(() => this.inFlight.delete(clientId));
    this.inFlight.set(clientId, loading);
    return loading;
  }

  private async load(clientId: string): Promise<MetadataDocumentClient> {
    const { body, maxAgeMs } = await this.fetch(new URL(clientId));
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      throw refuse('the client metadata document is not valid JSON');
    }
    const client = documentClient(clientId, document);
    this.cache.set(clientId, { client, expiresAt: this.now() + maxAgeMs });
    return client;
  }

  /** The address to connect to: every address of the host must be allowed, or none is used. */
  private async address(host: string): Promise<{ address: string; family: 4 | 6 }> {
    let addresses: string[];
    if (isIP(host) !== 0) addresses = [host];
    else {
      try {
        addresses = await this.resolveHost(host);
      } catch {
        throw refuse(`the client_id host ${host} does not resolve`);
      }
    }
    if (addresses.length === 0) throw refuse(`the client_id host ${host} does not resolve`);
    for (const address of addresses) {
      const range = addressRange(address);
      const allowed =
        range === 'unicast' || (range === 'loopback' && this.testOverride?.allowLoopbackForTests);
      if (!allowed) {
        throw refuse(
          `the client_id host ${host} resolves to a ${range} address (${address}) — metadata documents must be served from a public address`,
        );
      }
    }
    const address = addresses[0] as string;
    return { address, family: isIP(address) === 6 ? 6 : 4 };
  }

  private async fetch(url: URL): Promise<{ body: string; maxAgeMs: number }> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const { address, family } = await this.address(host);
    // Pins the connection to the checked address; TLS still verifies the certificate for `host`.
    const pinned: LookupFunction = (_name, options, callback) => {
      if (options.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    };
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        req.destroy();
        reject(refuse(`the client metadata document at ${url.href} ${why}`));
      };
      const timer = setTimeout(() => fail(`did not arrive within ${this.timeoutMs} ms`), this.timeoutMs);
      const req = request(
        {
          hostname: host,
          port: url.port === '' ? 443 : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: {
            accept: 'application/json',
            'user-agent': 'Portcullis (client metadata document fetch)',
          },
          agent: false,
          lookup: pinned,
          ...(this.testOverride ? { ca: this.testOverride.ca } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400)
            return fail(`redirects (HTTP ${status}), and redirects are not followed`);
          if (status !== 200) return fail(`answered HTTP ${status} instead of 200`);
          const type = String(res.headers['content-type'] ?? '');
          if (!/^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(type)) {
            return fail(`has content type ${JSON.stringify(type)} instead of application/json`);
          }
          const declared = Number(res.headers['content-length'] ?? 0);
          if (declared > this.maxBytes) return fail(`is larger than ${this.maxBytes} bytes`);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxBytes) return fail(`is larger than ${this.maxBytes} bytes`);
            chunks.push(chunk);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              body: Buffer.concat(chunks).toString('utf8'),
              maxAgeMs: cacheLifetime(res.headers['cache-control']),
            });
          });
          res.on('error', () => fail('could not be read'));
        },
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        const code = (err as NodeJS.ErrnoException).code ?? err.message;
        reject(refuse(`the client metadata document at ${url.href} could not be fetched (${code})`));
      });
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
  }
}

/** Validates a fetched document against the URL it came from (draft §4 and §8.1). */
export function documentClient(clientId: string, document: unknown): MetadataDocumentClient {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw refuse('the client metadata document is not a JSON object');
  }
  const fields = document as Record<string, unknown>;
  if (fields.client_id !== clientId) {
    throw refuse(
      `the client metadata document's client_id (${JSON.stringify(String(fields.client_id).slice(0, 100))}) does not equal its URL ${clientId}`,
    );
  }
  if ('client_secret' in fields || 'client_secret_expires_at' in fields) {
    throw refuse('the client metadata document must not contain a client secret');
  }
  const method = fields.token_endpoint_auth_method;
  if (method !== undefined && method !== 'none') {
    throw refuse(
      `the client metadata document's token_endpoint_auth_method ${JSON.stringify(method)} is not accepted — a metadata document client is public (none) and proves itself with PKCE`,
    );
  }
  let client: OAuthClient;
  try {
    client = clientFromMetadata(clientId, 'metadata-document', parseClientMetadata(document), 'none');
  } catch (err) {
    if (err instanceof OAuthError) throw refuse(`the client metadata document's ${err.description}`);
    throw err;
  }
  return {
    ...client,
    kind: 'metadata-document',
    loopbackOnly: client.redirectUris.every(isLoopbackRedirectUri),
  };
}

/** max-age within [1 min, 24 h]; no-store and no-cache get the minimum, no header the default. */
function cacheLifetime(header: string | undefined): number {
  if (header === undefined) return DEFAULT_CACHE_MS;
  if (/(?:^|,)\s*no-(?:store|cache)\b/i.test(header)) return MIN_CACHE_MS;
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(header);
  if (!match) return DEFAULT_CACHE_MS;
  return Math.min(MAX_CACHE_MS, Math.max(MIN_CACHE_MS, Number(match[1]) * 1000));
}

function refuse(description: string): OAuthError {
  return new OAuthError('invalid_client', description);
}
