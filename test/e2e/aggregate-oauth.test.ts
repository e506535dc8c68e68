/** A virtual server is an OAuth protected resource of its own: its tokens hold there and nowhere else. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  type CallbackServer,
  callbackServer,
  mcpWithToken,
  oauthGatewayYaml,
  obtainCode,
  pkce,
  registerPublicClient,
  tokenRequest,
} from '../helpers/oauth-flow.js';

describe('OAuth tokens of a virtual server', () => {
  let gw: TestGateway;
  let callback: CallbackServer;
  let client: string;

  before(async () => {
    gw = await startTestGateway(
      await oauthGatewayYaml(
        '{ registration: open }',
        '',
        "endpoints: { support: { include: ['everything.echo'] } }",
      ),
    );
    callback = await callbackServer();
    client = await registerPublicClient(gw.url, callback.url);
  });
  after(async () => {
    callback?.server.close();
    await gw?.close();
  });

  const tokenFor = async (resource: string) => {
    const { verifier, challenge } = pkce();
    const { code } = await obtainCode(gw.url, {
      clientId: client,
      redirectUri: callback.url,
      resource,
      challenge,
    });
    const { body } = await tokenRequest(gw.url, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: client,
      redirect_uri: callback.url,
    });
    assert.ok(body.access_token, JSON.stringify(body));
    return body.access_token;
  };

  it('issues a token for /support/mcp that opens a session there and is refused at /mcp and the upstream’s own path', async () => {
    const support = `${gw.url}/support/mcp`;
    const token = await tokenFor(support);
    assert.equal((await mcpWithToken(support, token)).status, 200);
    for (const other of [`${gw.url}/mcp`, `${gw.url}/servers/everything/mcp`]) {
      const refused = await mcpWithToken(other, token);
      assert.equal(refused.status, 401, other);
      assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
    }
    const mcpToken = await tokenFor(`${gw.url}/mcp`);
    assert.equal(
      (await mcpWithToken(support, mcpToken)).status,
      401,
      "a token for /mcp is not the support endpoint's",
    );
  });
});
