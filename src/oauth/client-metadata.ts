/**
 * Client metadata (RFC 7591 §2), the part shared by dynamic registration and Client ID Metadata
 * Documents: which fields are kept, their bounds, and the client every registration mode resolves
 * to. Unknown fields are dropped rather than refused (RFC 7591 §2: the server MAY ignore them),
 * and every kept field is bounded so a signed client id stays URL-sized.
 */
import { z } from 'zod';
import { OAuthError } from './errors.js';
import { redirectUriProblem } from './redirect-uri.js';
import { parseScope } from './scopes.js';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';
export type GrantType = 'authorization_code' | 'refresh_token';
/** How the client came to be known: signed open registration, the operator's list, or a CIMD URL. */
export type ClientKind = 'dynamic' | 'static' | 'metadata-document';

/** A client as every endpoint sees it, whichever registration mode produced it. */
export interface OAuthClient {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly redirectUris: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly grantTypes: readonly GrantType[];
  readonly clientName?: string;
  readonly clientUri?: string;
  readonly logoUri?: string;
  /** Scopes the client registered: requests are narrowed to them. Undefined: no narrowing. */
  readonly scopes?: readonly string[];
}

export const MAX_REDIRECT_URIS = 10;
const MAX_NAME = 100;
const MAX_URI = 512;

const httpsUri = z
  .string({ error: 'must be a string' })
  .max(MAX_URI, `must be at most ${MAX_URI} characters`)
  .refine((v) => URL.canParse(v) && new URL(v).protocol === 'https:', {
    message: 'must be an https:// URL',
  });

/** RFC 7591 §2 metadata this server understands; everything else is stripped. */
export const clientMetadataSchema = z.object({
  redirect_uris: z
    .array(
      z.string({ error: 'must be a list of strings' }).superRefine((uri, ctx) => {
        const problem = redirectUriProblem(uri);
        if (problem)
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(uri.slice(0, 100))} ${problem}` });
      }),
      { error: 'is required — list the URIs the authorization response may be sent to' },
    )
    .min(1, 'must list at least one redirect URI')
    .max(MAX_REDIRECT_URIS, `must list at most ${MAX_REDIRECT_URIS} redirect URIs`),
  token_endpoint_auth_method: z
    .enum(['none', 'client_secret_basic', 'client_secret_post'], {
      error: 'must be none, client_secret_basic or client_secret_post',
    })
    .optional(),
  grant_types: z
    .array(
      z.enum(['authorization_code', 'refresh_token'], {
        error: 'may only hold authorization_code and refresh_token',
      }),
    )
    .min(1, 'must not be empty')
    .max(2)
    .optional(),
  response_types: z
    .array(z.literal('code', { error: 'may only hold code (OAuth 2.1 has no implicit flow)' }))
    .min(1, 'must not be empty')
    .max(1)
    .optional(),
  client_name: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(MAX_NAME, `must be at most ${MAX_NAME} characters`)
    .optional(),
  client_uri: httpsUri.optional(),
  logo_uri: httpsUri.optional(),
  scope: z
    .string({ error: 'must be a string' })
    .refine((s) => parseScope(s) !== undefined, { message: 'must be space-separated scope names' })
    .optional(),
});

export type ClientMetadata = z.output<typeof clientMetadataSchema>;

/**
 * The metadata with unknown fields dropped, or invalid_redirect_uri / invalid_client_metadata
 * (RFC 7591 §3.2.2) naming the first field at fault.
 */
export function parseClientMetadata(input: unknown): ClientMetadata {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new OAuthError('invalid_client_metadata', 'the client metadata must be a JSON object');
  }
  const result = clientMetadataSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = String(issue?.path[0] ?? 'metadata');
    const path = issue?.path.map(String).join('.') ?? field;
    const code = field === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    throw new OAuthError(code, `${path} ${issue?.message ?? 'is invalid'}`);
  }
  const metadata = result.data;
  if (metadata.grant_types !== undefined && !metadata.grant_types.includes('authorization_code')) {
    // RFC 7591 §2.1: the code response type needs the authorization_code grant.
    throw new OAuthError(
      'invalid_client_metadata',
      'grant_types must include authorization_code, the only way this server issues tokens',
    );
  }
  return {
    ...metadata,
    redirect_uris: [...new Set(metadata.redirect_uris)],
    ...(metadata.grant_types ? { grant_types: [...new Set(metadata.grant_types)] } : {}),
  };
}

/** The client a parsed metadata document describes, with RFC 7591's defaults filled in. */
export function clientFromMetadata(
  clientId: string,
  kind: ClientKind,
  metadata: ClientMetadata,
  defaultAuthMethod: TokenEndpointAuthMethod,
): OAuthClient {
  const scopes = metadata.scope === undefined ? undefined : parseScope(metadata.scope);
  return {
    clientId,
    kind,
    redirectUris: metadata.redirect_uris,
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method ?? defaultAuthMethod,
    grantTypes: metadata.grant_types ?? ['authorization_code'],
    ...(metadata.client_name !== undefined ? { clientName: metadata.client_name } : {}),
    ...(metadata.client_uri !== undefined ? { clientUri: metadata.client_uri } : {}),
    ...(metadata.logo_uri !== undefined ? { logoUri: metadata.logo_uri } : {}),
    ...(scopes !== undefined ? { scopes } : {}),
  };
}
