/**
 * Multi-user HTTP Basic end to end: hashes from `users hash-password`, the real SDK client, the exact
 * refusals, the failed-login limits per client IP and per user name, the plain-HTTP rule, and which
 * forwarded headers are believed.
 */
import assert from 'node:assert/strict';
import type { SpawnSyncReturns } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { authenticate } from '../../src/auth/authenticate.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { setupAuthentication } from '../../src/auth/setup.js';
import { parseConfig } from '../../src/config/load.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import {
  type AuthGateway,
  assertAuthenticated,
  assertNoUpstreamContact,
  assertRefusal,
  basic,
  bearerChallenge,
  cli,
  connectWith,
  echoWith,
  initialize,
  LeakWatch,
  startAuthGateway,
} from '../helpers/auth.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';

const watch = new LeakWatch();
const BASIC_CHALLENGE = 'Basic realm="portcullis", charset="UTF-8"';
const WRONG = 'wrong user name or password';

/** One password per user; each test uses its own users and client IPs, so the limits do not interfere. */
const PASSWORDS = {
  alice: 'alice-correct-horse-battery',
  bob: 'bob-staple-and-more-words',
  carol: 'carol-password-for-per-ip',
  dave: 'dave-password-remembered',
  erin: 'erin-password-for-per-user',
  frank: 'frank-password-over-proxy',
} as const;
type User = keyof typeof PASSWORDS;

function yamlFor(hashes: Record<User, string>, listen: string, limits: string): string {
  const users = (Object.keys(hashes) as User[])
    .map(
      (u) => `      ${u}: { passwordHash: "${hashes[u]}"${u === 'alice' ? ', scopes: [tools:read]' : ''} }`,
    )
    .join('\n');
  return `listen: { host: 127.0.0.1, port: 0${listen} }
auth:
  defaultScopes: [files:read, "prompts:*"]
  basic:
    users:
${users}
      nobody-scoped: { passwordHash: "${hashes.bob}", scopes: [] }
    failedAttempts: { ${limits}, window: 1m }
upstreams:
${stdioUpstream('everything', EVERYTHING, ['stdio'])}`;
}

/** A client at `ip` behind the trusted proxy, which terminated TLS. */
const via = (ip: string, proto: string | null = 'https'): Record<string, string> => ({
  'x-forwarded-for': ip,
  ...(proto ? { 'x-forwarded-proto': proto } : {}),
});
const login = (user: string, password: string, extra: Record<string, string> = {}) => ({
  authorization: basic(user, password),
  ...extra,
});

let hashes: Record<User, string>;
let hashed: SpawnSyncReturns<string>;
let short: SpawnSyncReturns<string>;

before(async () => {
  hashed = cli(['users', 'hash-password'], `${PASSWORDS.alice}\n`);
  short = cli(['users', 'hash-password'], 'short\n');
  const others = await Promise.all(
    (['bob', 'carol', 'dave', 'erin', 'frank'] as const).map(async (u) => [
      u,
      await hashPassword(PASSWORDS[u]),
    ]),
  );
  hashes = { alice: hashed.stdout.trim(), ...Object.fromEntries(others) } as Record<User, string>;
  for (const u of Object.keys(PASSWORDS) as User[]) {
    watch.secret(PASSWORDS[u], hashes[u], basic(u, PASSWORDS[u]).slice(6));
  }
});

describe('users hash-password', () => {
  it('reads the password from stdin and prints only its scrypt hash', async () => {
    assert.equal(hashed.status, 0, hashed.stderr);
    assert.match(hashed.stdout, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(hashed.stderr, '', 'no prompt when stdin is a pipe');
    assert.ok(!hashed.stdout.includes(PASSWORDS.alice));
    assert.equal(await verifyPassword(PASSWORDS.alice, hashed.stdout.trim()), true);
    assert.equal(await verifyPassword(`${PASSWORDS.alice}x`, hashed.stdout.trim()), false);
  });

  it('refuses a password shorter than 12 characters', () => {
    assert.equal(short.status, 1);
    assert.equal(short.stdout, '');
    assert.equal(
      short.stderr,
      'portcullis: the password is shorter than 12 characters — choose a longer one\n',
    );
  });
});

describe('Basic behind a trusted proxy (listen.trustedProxies: [127.0.0.1])', () => {
  let gw: AuthGateway;
  let url: string;
  let metadata: string;

  before(async () => {
    gw = await startAuthGateway(yamlFor(hashes, ', trustedProxies: [127.0.0.1]', 'perIp: 3, perUser: 5'));
    watch.watch('gateway', gw.logs);
    url = `${gw.url}/mcp`;
    metadata = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
  });
  after(() => gw?.close());

  it('lets a config user with a hash from the CLI connect with the real client', async () => {
    await echoWith(url, login('alice', PASSWORDS.alice), 'alice');
    // bob has only the default scopes (files:read, prompts:*): he connects and reads prompts, and
    // the policy refuses him a tool.
    const bob = await connectWith(`${gw.url}/servers/everything/mcp`, login('bob', PASSWORDS.bob));
    try {
      assert.ok((await bob.client.listPrompts()).prompts.length > 0);
      assert.deepEqual((await bob.client.listTools()).tools, [], 'no tool is listed without a tool scope');
      await assert.rejects(
        bob.client.callTool({ name: 'echo', arguments: { message: 'bob' } }),
        /needs the scope tools:read or everything:read/,
      );
    } finally {
      await bob.close();
    }
  });

  it('refuses no credentials with both challenges', async () => {
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(url);
      assertRefusal(r, 401, 'unauthorized', 'authentication is required');
      assert.equal(
        r.headers.get('www-authenticate'),
        `Bearer resource_metadata="${metadata}", ${BASIC_CHALLENGE}`,
      );
    });
  });

  it('refuses a wrong password and an unknown user with the same 401', async () => {
    await assertNoUpstreamContact(gw, async () => {
      for (const [user, password, ip] of [
        ['alice', `${PASSWORDS.alice}-nope`, '198.51.100.10'],
        ['ghost', PASSWORDS.alice, '198.51.100.10'],
        // Names that exist on every object are still unknown users.
        ['constructor', 'anything-at-all', '198.51.100.11'],
        ['__proto__', 'anything-at-all', '198.51.100.11'],
      ] as const) {
        const r = await initialize(url, login(user, password, via(ip)));
        assertRefusal(r, 401, 'invalid_token', WRONG);
        assert.equal(r.message, WRONG);
        assert.equal(
          r.headers.get('www-authenticate'),
          `${bearerChallenge(metadata, 'invalid_token', WRONG)}, ${BASIC_CHALLENGE}`,
        );
        assert.equal(r.headers.get('retry-after'), null);
      }
    });
  });

  it('answers 429 with Retry-After after failedAttempts.perIp failures from one IP, even for the right password', async () => {
    await assertNoUpstreamContact(gw, async () => {
      for (let i = 0; i < 3; i++) {
        const r = await initialize(url, login('carol', `wrong-${i}`, via('198.51.100.20')));
        assertRefusal(r, 401, 'invalid_token', WRONG);
      }
      const r = await initialize(url, login('carol', PASSWORDS.carol, via('198.51.100.20')));
      assertRefusal(r, 429, 'too_many_attempts', /^too many failed logins — try again in \d+ s$/);
      const retryAfter = Number(r.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
      assert.equal(r.message, `too many failed logins — try again in ${retryAfter} s`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", /);
    });
    // The limit is per IP: the same user from another address gets in.
    await assertAuthenticated(url, login('carol', PASSWORDS.carol, via('198.51.100.21')));
  });

  it('keeps the per-IP limit for a correct password that was used recently', async () => {
    // dave logs in from 198.51.100.31; the pair is then remembered for a minute.
    await assertAuthenticated(url, login('dave', PASSWORDS.dave, via('198.51.100.31')));
    for (let i = 0; i < 3; i++) {
      const r = await initialize(url, login('ghost', `guess-${i}`, via('198.51.100.30')));
      assertRefusal(r, 401, 'invalid_token', WRONG);
    }
    // A throttled address must not get an answer to its next guess, right or wrong.
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(url, login('dave', PASSWORDS.dave, via('198.51.100.30')));
      assertRefusal(r, 429, 'too_many_attempts', 'too many failed logins');
    });
  });

  it('answers 429 after failedAttempts.perUser failures spread over many IPs', async () => {
    await assertNoUpstreamContact(gw, async () => {
      for (let i = 1; i <= 5; i++) {
        const r = await initialize(url, login('erin', `wrong-${i}`, via(`198.51.100.${40 + i}`)));
        assertRefusal(r, 401, 'invalid_token', WRONG);
      }
      for (const headers of [via('198.51.100.46'), {}]) {
        const r = await initialize(url, login('erin', PASSWORDS.erin, headers));
        assertRefusal(r, 429, 'too_many_attempts', 'too many failed logins');
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
    });
  });

  it('refuses Basic over plain HTTP from another machine (403), and accepts it when the proxy says https', async () => {
    await assertNoUpstreamContact(gw, async () => {
      for (const proto of [null, 'http']) {
        const r = await initialize(url, login('frank', PASSWORDS.frank, via('203.0.113.7', proto)));
        assertRefusal(
          r,
          403,
          'insecure_transport',
          'Basic credentials are refused over plain HTTP from another machine',
        );
        assert.match(r.message, /change that password/);
        assert.ok(
          (r.headers.get('www-authenticate') ?? '').startsWith(
            'Bearer error="invalid_request", error_description="Basic credentials are refused over plain HTTP',
          ),
        );
      }
    });
    await assertAuthenticated(url, login('frank', PASSWORDS.frank, via('203.0.113.7', 'https')));
  });

  it('gives a user without scopes auth.defaultScopes, and a user with a list exactly that list', async () => {
    const { config } = parseConfig(
      yamlFor(hashes, ', trustedProxies: [127.0.0.1]', 'perIp: 3, perUser: 5'),
      process.cwd(),
      {},
    );
    const setup = setupAuthentication(config.auth, new URL('http://127.0.0.1:8787'), undefined);
    const run = authenticate(setup.authenticators);
    const principalOf = async (user: User | 'nobody-scoped', password: string) => {
      const ctx = {
        req: {
          url: '/mcp',
          headers: { authorization: basic(user, password) },
          rawHeaders: ['Authorization', basic(user, password)],
        },
        endpoint: { upstream: 'everything', path: '/mcp' },
        clientIp: '127.0.0.1',
        secure: false,
      } as unknown as RequestContext;
      await run(ctx);
      return ctx.principal;
    };
    assert.deepEqual(await principalOf('bob', PASSWORDS.bob), {
      id: 'basic:bob',
      kind: 'basic',
      name: 'bob',
      scopes: ['files:read', 'prompts:*'],
      roles: [],
    });
    assert.deepEqual((await principalOf('alice', PASSWORDS.alice))?.scopes, ['tools:read']);
    assert.deepEqual((await principalOf('nobody-scoped', PASSWORDS.bob))?.scopes, []);
    await setup.close();
  });
});

describe('Basic when the peer is not a trusted proxy', () => {
  let gw: AuthGateway;
  let url: string;

  before(async () => {
    gw = await startAuthGateway(yamlFor(hashes, ', trustedProxies: [10.9.9.9]', 'perIp: 2, perUser: 50'));
    watch.watch('untrusting gateway', gw.logs);
    url = `${gw.url}/mcp`;
  });
  after(() => gw?.close());

  it('ignores X-Forwarded-For: the loopback peer may use Basic over plain HTTP', async () => {
    await assertAuthenticated(url, login('alice', PASSWORDS.alice, via('203.0.113.7', 'http')));
  });

  it('ignores X-Forwarded-For for the limits: every failure counts against the real peer', async () => {
    await assertNoUpstreamContact(gw, async () => {
      for (const ip of ['198.51.100.1', '198.51.100.2']) {
        const r = await initialize(url, login('ghost', 'guess', via(ip)));
        assertRefusal(r, 401, 'invalid_token', WRONG);
      }
      const r = await initialize(url, login('bob', PASSWORDS.bob, via('198.51.100.3')));
      assertRefusal(r, 429, 'too_many_attempts', 'too many failed logins');
    });
  });
});

describe('Basic: logs', () => {
  it('no gateway log line holds a password, a password hash or a Basic credential', () => {
    watch.assertClean();
  });
});
