/**
 * A real OpenID provider on loopback for auth tests: panva's `oidc-provider` (9.x), not a hand-made JWKS stub.
 *
 * Tokens come from the provider's own token endpoint (client_credentials grant, RFC 8707 resource indicators),
 * are signed with keys we generate here (so tests can also forge tokens with the real key), and opaque ones
 * can be introspected (RFC 7662) and revoked (RFC 7009) over HTTP.
 *
 * With `interactive`, it is also an OpenID provider people sign in at, for the gateway's delegated login
 * (auth.oauth.login.oidc): registered clients doing the authorization code flow with PKCE, the provider's
 * dev-only login page (any password; the login name picks an account from `accounts`), no consent prompt
 * for that client, and the profile and email claims in the id_token.
 *
 * Plain-http issuer: oidc-provider only asserts that the issuer is an http(s) URL, so `http://127.0.0.1:PORT`
 * needs no extra option. Its session and interaction cookies carry no `secure` attribute unless configured
 * (cookies.long/short), so they work over http://127.0.0.1; the dev-only login pages are on only with
 * `interactive`. The provider logs a few notices on start (Node 20 is "unsupported" by oidc-provider 9 but
 * works; the in-memory adapter and devInteractions are "development-only"): all expected here.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** A private signing JWK as the provider holds it. */
export type PrivateJwk = JWK & { kid: string; alg: 'RS256' | 'ES256'; use: 'sig' };

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface OidcFixture {
  /** `http://127.0.0.1:PORT` (no trailing slash): the `iss` of every token. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly revocationEndpoint: string;
  /** The default resource (audience) tokens are issued for. */
  readonly resource: string;
  /** May call the introspection endpoint (client_secret_basic); no grant of its own. */
  readonly introspectionClient: ClientCredentials;
  /** The confidential client `token()` uses (client_credentials grant, client_secret_basic). */
  readonly tokenClient: ClientCredentials;
  /** The provider's private keys, to forge tokens with the real key but chosen claims. Access tokens use RS256. */
  readonly signingKeys: { readonly RS256: PrivateJwk; readonly ES256: PrivateJwk };
  /** A real access token from the token endpoint, with `scope` = the requested scopes and `aud` = the resource. */
  token(scopes: readonly string[], opts?: { resource?: string }): Promise<string>;
  /** Revokes a token at the revocation endpoint. Opaque tokens only: the provider refuses to revoke JWTs. */
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

/** A gateway as a relying party: signs people in here with the authorization code flow and PKCE. */
export interface RelyingPartyClient {
  readonly clientId: string;
  /** `<gateway>/oauth/callback` of each gateway using this client, exactly. */
  readonly redirectUris: readonly string[];
  /** A confidential client (client_secret_basic) when set; a public one (PKCE alone) otherwise. */
  readonly clientSecret?: string;
}

export interface InteractiveOptions {
  readonly clients: readonly RelyingPartyClient[];
  /** Accounts by login name (the login page's first field; any password): their claims, besides `sub`. */
  readonly accounts: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface OidcProviderOptions {
  /** The gateway's resource URL: the default audience of issued tokens. */
  resource: string;
  /** Access token lifetime in seconds (default 300). */
  accessTokenTtl?: number;
  /** Issue opaque (introspectable) tokens instead of JWTs. */
  opaque?: boolean;
  /** Let gateways sign people in here (interactive authorization code flow). */
  interactive?: InteractiveOptions;
}

// oidc-provider 9 ships no type declarations. These are the few shapes this file touches.
interface ProviderContext {
  oidc: {
    params: Record<string, unknown>;
    client?: ProviderClient;
    session?: { accountId?: string };
    provider: { Grant: new (init: { accountId: string; clientId: string }) => ProviderGrant };
  };
}
interface ProviderClient {
  clientId: string;
}
interface ProviderGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface ProviderToken {
  clientId: string;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type ProviderConstructor = new (issuer: string, configuration: object) => ProviderInstance;

// A specifier typed as plain `string` keeps tsc from looking for the package's (missing) declarations, which
// would be a strict-mode error; the import's result is then narrowed to ProviderConstructor below.
const OIDC_PROVIDER: string = 'oidc-provider';

const TOKEN_CLIENT_ID = 'portcullis-test-client';
const INTROSPECTION_CLIENT_ID = 'portcullis-introspector';

/** What the provider needs to sign people in for the relying parties. */
function interactiveConfiguration(interactive: InteractiveOptions): object {
  const rpIds = new Set(interactive.clients.map((c) => c.clientId));
  return {
    // The id_token carries the profile and email claims (by default oidc-provider keeps them for userinfo
    // whenever an access token is issued too, which real providers such as Keycloak or Entra do not do).
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx: ProviderContext, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, ...(interactive.accounts[sub] ?? {}) }),
    }),
    // The gateway is first-party here: sign-in needs no consent prompt at the provider.
    loadExistingGrant: async (ctx: ProviderContext) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (accountId === undefined || clientId === undefined || !rpIds.has(clientId)) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  };
}

async function signingKey(alg: 'RS256' | 'ES256'): Promise<PrivateJwk> {
  // extractable: the private JWK is handed to the provider and to tests.
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `test-${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`, alg, use: 'sig' };
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function basicAuth({ clientId, clientSecret }: ClientCredentials): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

async function postForm(
  url: string,
  client: ClientCredentials,
  form: Record<string, string>,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcFixture> {
  const ttl = options.accessTokenTtl ?? 300;
  const format = options.opaque ? 'opaque' : 'jwt';
  const signingKeys = { RS256: await signingKey('RS256'), ES256: await signingKey('ES256') };
  const tokenClient: ClientCredentials = {
    clientId: TOKEN_CLIENT_ID,
    clientSecret: randomBytes(32).toString('base64url'),
  };
  const introspectionClient: ClientCredentials = {
    clientId: INTROSPECTION_CLIENT_ID,
    clientSecret: randomBytes(32).toString('base64url'),
  };

  // The issuer has to name the port, so bind first (127.0.0.1 only, free port) and mount the provider after.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };
  const interactive = options.interactive;
  const rpIds = new Set(interactive?.clients.map((c) => c.clientId));
  const provider = new Provider(issuer, {
    ...(interactive ? interactiveConfiguration(interactive) : {}),
    clients: [
      ...(interactive?.clients ?? []).map((rp) => ({
        client_id: rp.clientId,
        ...(rp.clientSecret !== undefined ? { client_secret: rp.clientSecret } : {}),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [...rp.redirectUris],
        token_endpoint_auth_method: rp.clientSecret !== undefined ? 'client_secret_basic' : 'none',
      })),
      {
        client_id: tokenClient.clientId,
        client_secret: tokenClient.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        // A resource server's credentials: no grants, only introspection (same auth method setting applies).
        client_id: introspectionClient.clientId,
        client_secret: introspectionClient.clientSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKeys.RS256, signingKeys.ES256] },
    // Explicit TTLs: the defaults print "you SHOULD change it" notices.
    ttl: {
      ClientCredentials: ttl,
      AccessToken: ttl,
      ...(interactive
        ? { Session: 600, Interaction: 600, Grant: 600, IdToken: 300, AuthorizationCode: 60 }
        : {}),
    },
    features: {
      devInteractions: { enabled: interactive !== undefined },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Only the resource server's client learns about tokens; anyone else gets `active: false`.
        // `client` is the authenticated caller, not the token's client.
        allowedPolicy: async (_ctx: ProviderContext, client: ProviderClient) =>
          client.clientId === introspectionClient.clientId,
      },
      revocation: {
        enabled: true,
        // The provider's default rule, stated so it does not print a notice: a client revokes its own tokens.
        allowedPolicy: async (_ctx: ProviderContext, client: ProviderClient, token: ProviderToken) =>
          token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // The relying party asks for an id_token, not for access to a resource: its access token is for userinfo.
        defaultResource: async (ctx: ProviderContext) =>
          rpIds.has(ctx.oidc.client?.clientId ?? '') ? undefined : options.resource,
        // client_credentials keeps only the requested scopes that the resource server "has" (an intersection),
        // so every resource indicator is a resource server whose scopes are exactly what was requested: tests
        // get arbitrary scopes (tools:read, files:write, …) and arbitrary audiences (to test wrong-audience).
        getResourceServerInfo: async (ctx: ProviderContext, resourceIndicator: string) => ({
          scope: typeof ctx.oidc.params.scope === 'string' ? ctx.oidc.params.scope : '',
          audience: resourceIndicator,
          accessTokenTTL: ttl,
          accessTokenFormat: format,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  handler = provider.callback();

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  const endpoint = (name: string): string => {
    const value = discovery[name];
    if (typeof value !== 'string') throw new Error(`oidc-provider discovery has no ${name}`);
    return value;
  };
  const tokenEndpoint = endpoint('token_endpoint');
  const revocationEndpoint = endpoint('revocation_endpoint');

  return {
    issuer,
    jwksUri: endpoint('jwks_uri'),
    tokenEndpoint,
    introspectionEndpoint: endpoint('introspection_endpoint'),
    revocationEndpoint,
    resource: options.resource,
    introspectionClient,
    tokenClient,
    signingKeys,

    async token(scopes, opts = {}) {
      const form: Record<string, string> = {
        grant_type: 'client_credentials',
        resource: opts.resource ?? options.resource,
      };
      if (scopes.length > 0) form.scope = scopes.join(' ');
      const response = await postForm(tokenEndpoint, tokenClient, form);
      const body = (await response.json()) as { access_token?: string; error?: string };
      if (!response.ok || typeof body.access_token !== 'string') {
        throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },

    async revoke(token) {
      const response = await postForm(revocationEndpoint, tokenClient, { token });
      if (!response.ok) throw new Error(`revocation failed: ${response.status} ${await response.text()}`);
    },

    async close() {
      // fetch keeps connections alive; drop them or close() waits for their idle timeout.
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      server.closeAllConnections();
      await closed;
    },
  };
}
