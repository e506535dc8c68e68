/**
 * The token endpoint's two grants and the revocation endpoint, over the pieces that each do one
 * thing (codes, access tokens, refresh tokens, the token store):
 * - authorization_code: redeem the code; on a replay, revoke the grant the code started (RFC 6749
 *   §4.1.2) before answering; otherwise record the grant and issue its first tokens;
 * - refresh_token: rotate, and issue an access token for the same resource, possibly narrower;
 * - revoke (RFC 7009): a refresh token revokes its whole grant (§2.1: the access tokens of the
 *   same grant SHOULD die too); an access token is denied by jti until its exp. Tokens that are
 *   unknown, expired or not ours are ignored, as §2.2 requires.
 */
import type { AccessTokens } from './access-tokens.js';
import type { OAuthClient } from './client-metadata.js';
import type { AuthorizationCodeRecord, AuthorizationCodes, CodeRedemption } from './codes.js';
import { CodeReplayError, OAuthError } from './errors.js';
import { isRefreshToken, type RefreshTokens } from './refresh-tokens.js';
import { formatScope } from './scopes.js';
import type { TokenStore } from './token-store.js';

/** RFC 6749 §5.1 successful token response (sent with Cache-Control: no-store). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
}

export interface TokensOptions {
  readonly accessTokens: AccessTokens;
  readonly refreshTokens: RefreshTokens;
  readonly store: TokenStore;
  readonly now?: () => number;
}

export class Tokens {
  private readonly now: () => number;

  constructor(private readonly options: TokensOptions) {
    this.now = options.now ?? Date.now;
  }

  /** grant_type=authorization_code for an authenticated client. */
  async exchangeCode(
    codes: AuthorizationCodes,
    redemption: CodeRedemption,
    client: OAuthClient,
  ): Promise<TokenResponse> {
    let record: AuthorizationCodeRecord;
    try {
      record = await codes.redeem(redemption);
    } catch (err) {
      if (err instanceof CodeReplayError) await this.revokeGrant(err.grantId);
      throw err;
    }
    return this.issueForGrant(record, client);
  }

  /** grant_type=refresh_token for an authenticated client. */
  async refresh(
    client: OAuthClient,
    request: {
      token: string | undefined;
      resource: string | undefined;
      scopes: readonly string[] | undefined;
    },
  ): Promise<TokenResponse> {
    if (!client.grantTypes.includes('refresh_token')) {
      throw new OAuthError('unauthorized_client', 'this client did not register the refresh_token grant');
    }
    const rotation = await this.options.refreshTokens.rotate({ ...request, clientId: client.clientId });
    const { previous } = rotation;
    const access = await this.options.accessTokens.issue({
      subject: previous.subject,
      clientId: previous.clientId,
      resource: previous.resource,
      scopes: rotation.scopes,
      grantId: previous.grantId,
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: rotation.token,
      scope: formatScope(rotation.scopes),
    };
  }

  /** RFC 7009 revocation by an authenticated client. */
  async revoke(client: OAuthClient, token: string | undefined): Promise<void> {
    if (token === undefined || token === '') throw new OAuthError('invalid_request', 'token is required');
    const { store, accessTokens } = this.options;
    if (isRefreshToken(token)) {
      const record = await store.findRefreshToken(this.options.refreshTokens.hash(token));
      if (!record) return;
      if (record.clientId !== client.clientId) {
        throw new OAuthError('invalid_grant', 'the token was issued to another client');
      }
      await this.revokeGrant(record.grantId);
      return;
    }
    const claims = await accessTokens.inspect(token);
    if (!claims) return;
    if (claims.client_id !== client.clientId)
      throw new OAuthError('invalid_grant', 'the token was issued to another client');
    await store.denyAccessToken(claims.jti, claims.exp * 1000);
  }

  /** Revokes every token of a grant (a replayed code, a reused refresh token, an operator's revoke). */
  async revokeGrant(grantId: string): Promise<void> {
    const now = this.now();
    await this.options.store.revokeGrant(grantId, now, now + this.grantLifetime());
  }

  /** The longest any token of a grant can live from now: how long its record must be kept. */
  private grantLifetime(): number {
    return Math.max(this.options.accessTokens.lifetimeMs, this.options.refreshTokens.lifetimeMs);
  }

  private async issueForGrant(record: AuthorizationCodeRecord, client: OAuthClient): Promise<TokenResponse> {
    const { accessTokens, refreshTokens, store } = this.options;
    const now = this.now();
    // Recorded before any token exists, so a replay racing this redemption revokes what follows.
    await store.saveGrant({
      id: record.grantId,
      clientId: record.clientId,
      subject: record.subject,
      resource: record.resource,
      createdAt: now,
      expiresAt: now + this.grantLifetime(),
      revokedAt: null,
    });
    const access = await accessTokens.issue({
      subject: record.subject,
      clientId: record.clientId,
      resource: record.resource,
      scopes: record.scopes,
      grantId: record.grantId,
    });
    const refresh = client.grantTypes.includes('refresh_token')
      ? await refreshTokens.issue({
          grantId: record.grantId,
          clientId: record.clientId,
          subject: record.subject,
          resource: record.resource,
          scopes: record.scopes,
        })
      : undefined;
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      ...(refresh ? { refresh_token: refresh.token } : {}),
      scope: formatScope(record.scopes),
    };
  }
}
