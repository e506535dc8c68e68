/**
 * Fuzz targets (issue 15 item 5): one fast-check property per piece of code that reads untrusted
 * input. Each property states what must hold for every input, against an oracle written from the
 * specification (oracles.ts), so it fails when the code lets something through, and whenever the
 * code throws anything but its own refusal type. Generators mix well-formed inputs with near misses
 * and noise, so the accepting branches are exercised as much as the refusing ones.
 *
 * Traffic stays on this machine: URL targets only use IP literals and `localhost`, and a URL that
 * would need a DNS lookup of another name is left out (the property holds vacuously for it).
 */
import { createHash, scryptSync } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { isIP, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { REDACTED, Redactor } from '../../src/audit/redact.js';
import { AuthError } from '../../src/auth/auth-error.js';
import { BasicUsers } from '../../src/auth/basic.js';
import { readCredential } from '../../src/auth/credentials.js';
import { authSchema } from '../../src/config/auth-schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { policySchema } from '../../src/config/policy-schema.js';
import { interpolate } from '../../src/config/secrets.js';
import { GatewayError } from '../../src/core/errors.js';
import { type JsonRpcMessage, parseBody } from '../../src/core/jsonrpc.js';
import { methodFacts } from '../../src/core/methods.js';
import { META } from '../../src/core/revisions.js';
import { parseAuthorizationRequest } from '../../src/oauth/authorization-request.js';
import { authenticateClient } from '../../src/oauth/client-authentication.js';
import { DynamicClients, type RegistrationResponse } from '../../src/oauth/client-id.js';
import { OAuthClients } from '../../src/oauth/clients.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { matchRedirectUri, redirectUriProblem } from '../../src/oauth/redirect-uri.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { ArgumentGuards } from '../../src/policy/guards.js';
import { checkModernRequest } from '../../src/relay/modern/envelope.js';
import { checkMirrored, declaredParams, deriveHeaders } from '../../src/relay/modern/param-headers.js';
import {
  isAcceptableBody,
  isInside,
  isSafeRedirectUri,
  mustNeverReach,
  sameRedirectTarget,
} from './oracles.js';
import { type FuzzTarget, target } from './target.js';

/** Thrown when a property does not hold; the message says which. */
function fail(message: string): never {
  throw new Error(message);
}

/** Runs `fn`; a throw of `type` is a refusal (returned), anything else thrown is a crash (rethrown). */
async function refusal<E extends Error>(
  type: abstract new (...args: never[]) => E,
  fn: () => unknown,
): Promise<E | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const ascii = fc.string({ unit: 'binary-ascii', maxLength: 40 });
/** A value from `good` most of the time, else a near miss or noise. */
const mostly = <T>(good: fc.Arbitrary<T>, ...others: fc.Arbitrary<T>[]) =>
  fc.oneof({ arbitrary: good, weight: 3 }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })));

// ---- JSON-RPC ----

const LIMITS = { maxJsonDepth: 6, maxBatch: 4 };

const idValue = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('1', '2', '', 1.5, 2 ** 53, null, true, [], {}),
  ascii,
);
const rpcField = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({}), idValue);
const messageLike = fc.record(
  {
    jsonrpc: mostly(fc.constant('2.0'), fc.constantFrom('2', '1.0', 2, null)),
    id: idValue,
    method: mostly(
      fc.constantFrom('tools/call', 'ping', 'x'.repeat(256)),
      fc.constantFrom('', 'x'.repeat(257)),
      ascii,
    ),
    params: mostly(fc.dictionary(ascii, rpcField, { maxKeys: 3 }), rpcField),
    result: mostly(fc.dictionary(ascii, rpcField, { maxKeys: 3 }), rpcField),
    error: mostly(
      fc.record({ code: fc.oneof(fc.integer(), fc.double()), message: fc.oneof(ascii, fc.integer()) }),
      rpcField,
    ),
  },
  { requiredKeys: [] },
);
/** Well-formed messages with ids from a small set, so batches with a repeated id come up often. */
const wellFormed = fc.oneof(
  fc.record({
    jsonrpc: fc.constant('2.0'),
    id: fc.constantFrom(1, 2, '1'),
    method: fc.constant('tools/list'),
  }),
  fc.record({ jsonrpc: fc.constant('2.0'), method: fc.constant('notifications/initialized') }),
  fc.record({ jsonrpc: fc.constant('2.0'), id: fc.constantFrom(1, 2), result: fc.constant({}) }),
);
const bodyText = fc.oneof(
  messageLike.map((m) => JSON.stringify(m)),
  fc.array(wellFormed, { minLength: 1, maxLength: 5 }).map((b) => JSON.stringify(b)),
  fc.array(messageLike, { maxLength: 6 }).map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.stringify(v)),
  fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom('[', '{"a":', '["\\"[",'), text)
    .map(
      ([n, open, inner]) =>
        `${open.repeat(n)}${JSON.stringify(inner)}${(open === '[' ? ']' : open === '{"a":' ? '}' : ']').repeat(n)}`,
    ),
  text,
);

const jsonRpcTarget = target(
  'json-rpc: parseBody accepts exactly the valid bodies',
  2000,
  fc.asyncProperty(bodyText, async (body) => {
    const refused = await refusal(GatewayError, () => parseBody(body, LIMITS));
    const acceptable = isAcceptableBody(body, LIMITS);
    if (refused && acceptable) fail(`a valid body was refused: ${refused.message}`);
    if (!refused && !acceptable) fail('an invalid body was accepted');
  }),
);

// ---- 2026-07-28 envelope and header/body agreement ----

/** An independent reading of the =?base64?…?= sentinel (2026-07-28 header encoding). */
function headerText(raw: string): string | undefined {
  const value = raw.trim();
  const m = /^=\?base64\?(.*)\?=$/.exec(value);
  if (!m) return value;
  try {
    const bytes = Buffer.from(m[1] as string, 'base64');
    if (bytes.toString('base64') !== m[1]) return undefined;
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

const base64Sentinel = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;
const modernMethod = fc.constantFrom(
  'tools/call',
  'resources/read',
  'prompts/get',
  'tools/list',
  'ping',
  'x/y',
);
const headerFor = (value: string) =>
  fc.oneof(
    { arbitrary: fc.constant(value), weight: 4 },
    fc.constant(` ${value} `),
    fc.constant(base64Sentinel(value)),
    fc.constant(value.toUpperCase()),
    fc.constant(undefined),
    ascii,
    text.map(base64Sentinel),
  );
const modernCase = fc
  .record({
    method: modernMethod,
    version: mostly(fc.constant('2026-07-28'), fc.constantFrom('2025-11-25', '2027-01-01', '2026-7-28', '')),
    name: mostly(text, fc.constantFrom('=?base64?YQ==?=', ' padded ')),
    nameIsNumber: fc.boolean(),
    capabilities: mostly(fc.constant({}), fc.constantFrom(null, 'x', [])),
    notification: fc.boolean(),
    batch: fc.boolean(),
    legacy: fc.boolean(),
  })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      versionHeader: headerFor(c.version),
      methodHeader: headerFor(c.method),
      nameHeader: headerFor(c.name),
    }),
  );

const modernTarget = target(
  '2026 envelope: an accepted request agrees with its headers, and an agreeing one is accepted',
  2000,
  fc.asyncProperty(modernCase, async ({ c, versionHeader, methodHeader, nameHeader }) => {
    const facts = methodFacts(c.method);
    const nameField = facts.sessionOnly ? undefined : facts.nameField;
    const meta = c.legacy
      ? undefined
      : { [META.protocolVersion]: c.version, [META.clientCapabilities]: c.capabilities };
    const params: Record<string, unknown> = {
      ...(meta ? { _meta: meta } : {}),
      ...(nameField ? { [nameField]: c.nameIsNumber ? 7 : c.name } : {}),
    };
    const message = {
      jsonrpc: '2.0',
      ...(c.notification ? {} : { id: 1 }),
      method: c.method,
      params,
    } as JsonRpcMessage;
    const headers: Record<string, string> = {};
    if (versionHeader !== undefined) headers['mcp-protocol-version'] = versionHeader;
    if (methodHeader !== undefined) headers['mcp-method'] = methodHeader;
    if (nameHeader !== undefined) headers['mcp-name'] = nameHeader;
    // The stage reads only these fields of the context.
    const ctx = {
      req: { method: 'POST', headers },
      messages: c.batch ? [message, { jsonrpc: '2.0', method: 'notifications/x' }] : [message],
      isBatch: c.batch,
    } as unknown as RequestContext;
    const refused = await refusal(GatewayError, () => checkModernRequest(ctx));
    const version = versionHeader?.trim();
    if (c.legacy) {
      const modernHeader =
        version !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= '2026-07-28';
      if (!refused && modernHeader) fail('a body without an envelope passed with a 2026 version header');
      if (refused && !modernHeader) fail(`a plain 2025 request was refused: ${refused.message}`);
      return;
    }
    const versionAgrees = version === undefined ? c.notification : version === c.version;
    const methodAgrees = c.notification || methodHeader?.trim() === c.method;
    const nameAgrees =
      c.notification ||
      nameField === undefined ||
      (!c.nameIsNumber && nameHeader !== undefined && headerText(nameHeader) === c.name);
    const sound =
      c.version === '2026-07-28' &&
      typeof c.capabilities === 'object' &&
      c.capabilities !== null &&
      !Array.isArray(c.capabilities);
    const agrees = versionAgrees && methodAgrees && nameAgrees;
    if (!refused && !(agrees && sound && !c.batch))
      fail(
        'a 2026 request whose headers disagree with its body (or a bad envelope, or a batch) was accepted',
      );
    if (refused && agrees && sound && !c.batch)
      fail(`an agreeing 2026 request was refused: ${refused.message}`);
  }),
);

const paramSchema = fc
  .uniqueArray(
    fc.record({
      key: fc.stringMatching(/^[a-z]{1,6}$/),
      header: mostly(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,8}$/), fc.constantFrom('bad name', '', 'é')),
      type: fc.constantFrom('string', 'integer', 'boolean', 'object'),
    }),
    { selector: (p) => p.key, maxLength: 4 },
  )
  .map((props) => ({
    type: 'object',
    properties: Object.fromEntries(props.map((p) => [p.key, { type: p.type, 'x-mcp-header': p.header }])),
  }));
const argValue = fc.oneof(text, fc.integer(), fc.boolean(), fc.constantFrom('=?base64?YQ==?=', ' x', 'é'));

const paramHeadersTarget = target(
  '2026 Mcp-Param headers: derived headers pass, and a header that says another value is refused',
  2000,
  fc.asyncProperty(
    paramSchema,
    fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), argValue, { maxKeys: 4 }),
    argValue,
    async (schema, args, other) => {
      const declared = declaredParams(schema);
      if (!declared) return;
      const derived = deriveHeaders(declared, args);
      const ok = await refusal(GatewayError, () => checkMirrored(declared, args, derived));
      if (ok) fail(`the gateway's own derived headers were refused: ${ok.message}`);
      const first = declared.find((p) => args[p.path[0] as string] !== undefined);
      if (!first) return;
      const value = args[first.path[0] as string];
      if (String(value) === String(other)) return;
      const tampered = { ...derived, ...deriveHeaders([first], { [first.path[0] as string]: other }) };
      if (!(await refusal(GatewayError, () => checkMirrored(declared, args, tampered))))
        fail(
          `${first.header} said ${JSON.stringify(other)} but the body ${JSON.stringify(value)}, and it passed`,
        );
    },
  ),
);

// ---- config ----

const configValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.constantFrom(
      '${env:FUZZ_SECRET}',
      '${env:FUZZ_UNSET}',
      '${file:secret.txt}',
      '${file:missing}',
      '$${x}',
      '${nope}',
      '${env:}',
    ),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('command', 'url', 'args', 'none', 'host', 'port', 'users', 'tools', 'x'),
      tie('value'),
      {
        maxKeys: 3,
      },
    ),
  ),
})).value;
const CONFIG_PATHS = [
  ['listen', 'port'],
  ['listen', 'host'],
  ['listen', 'allowedHosts'],
  ['upstreams', 'everything'],
  ['upstreams', 'everything', 'command'],
  ['upstreams', 'everything', 'env'],
  ['upstreams', 'web', 'url'],
  ['auth'],
  ['auth', 'apiKeys'],
  ['auth', 'basic', 'users'],
  ['auth', 'oauth'],
  ['auth', 'jwt', 'issuer'],
  ['policy', 'tools'],
  ['policy', 'rules'],
  ['limits', 'perIp'],
  ['limits', 'maxBody'],
  ['audit', 'logArguments'],
  ['metrics', 'token'],
  ['store'],
  ['__proto__'],
  ['x'],
];
const configText = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom(...CONFIG_PATHS), configValue), { maxLength: 4 }).map((edits) => {
    const tree: Record<string, unknown> = {
      upstreams: { everything: { command: 'node' } },
      auth: { none: true },
    };
    for (const [path, value] of edits) {
      let node = tree;
      for (const key of path.slice(0, -1)) {
        const child = node[key];
        if (child === null || typeof child !== 'object') node[key] = {};
        node = node[key] as Record<string, unknown>;
      }
      node[path.at(-1) as string] = value;
    }
    return toYaml(tree);
  }),
  text,
  fc.constantFrom('a: [', '&a [*a]', '!!js/function x', 'a: 1\na: 2', '{"x": }', '---\n---'),
);

export function configTargets(dir: string): FuzzTarget[] {
  writeFileSync(join(dir, 'secret.txt'), 'fuzz-file-secret\n');
  const env = { FUZZ_SECRET: 'fuzz-env-secret' };
  const parseTarget = target(
    'config: any text is loaded or refused with a ConfigError naming the problem',
    500,
    fc.asyncProperty(configText, async (yaml) => {
      const refused = await refusal(ConfigError, () => parseConfig(yaml, dir, env));
      if (refused && !refused.message.split('\n').every((line) => line.startsWith('config: ')))
        fail(`a config problem does not read "config: …": ${refused.message}`);
    }),
  );

  // Segments of a string with references; what each becomes, and the secret it records.
  const segment = fc.oneof(
    fc
      .string({ unit: 'binary', maxLength: 8 })
      .filter((s) => !s.includes('$'))
      .map((s) => ({ raw: s, out: s })),
    fc.constant({ raw: '$${', out: '${' }),
    fc
      .tuple(
        fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
        fc.constantFrom('', ' '),
      )
      .map(([name, value, pad]) => ({
        raw: `\${env:${pad}${name}${pad}}`,
        out: value,
        env: [name, value] as const,
      })),
    fc
      .tuple(
        fc.stringMatching(/^[a-z]{1,6}$/),
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.constantFrom('', '\n', '\r\n', '\n\n'),
      )
      .map(([name, value, end]) => ({
        raw: `\${file:f-${name}}`,
        out: value + (end === '\n\n' ? '\n' : ''),
        file: [`f-${name}`, value + end] as const,
      })),
  );
  const interpolateTarget = target(
    'config: ${env:}/${file:} fill in exactly their values, and every value filled is a secret',
    500,
    fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 6 }), async (segments) => {
      const env: Record<string, string> = {};
      const files = new Map<string, string>();
      for (const s of segments) {
        if ('env' in s && s.env) env[s.env[0]] = s.env[1];
        if ('file' in s && s.file) files.set(s.file[0], s.file[1]);
      }
      // One value per name: a name drawn twice takes its last value everywhere.
      const outOf = (s: (typeof segments)[number]) =>
        'env' in s && s.env
          ? (env[s.env[0]] as string)
          : 'file' in s && s.file
            ? (files.get(s.file[0]) as string).replace(/\r?\n$/, '')
            : s.out;
      for (const [name, content] of files) writeFileSync(join(dir, name), content);
      const raw = segments.map((s) => s.raw).join('');
      const { value, secrets } = interpolate({ a: { b: [raw] } }, env, dir);
      const expected = segments.map(outOf).join('');
      const got = (value as { a: { b: string[] } }).a.b[0];
      if (got !== expected) fail(`filled to ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
      const filled = segments
        .filter((s) => 'env' in s || 'file' in s)
        .map(outOf)
        .filter((v) => v !== '');
      for (const v of filled)
        if (!secrets.includes(v)) fail(`the filled value ${JSON.stringify(v)} is not a secret`);
    }),
  );
  return [parseTarget, interpolateTarget];
}

// ---- OAuth ----

const ISSUER = 'https://gateway.example';
const RESOURCE = 'https://gateway.example/mcp';
const REGISTERED = ['https://app.example/cb', 'http://127.0.0.1:7777/cb', 'com.example.app:/cb'];

const redirectUriLike = fc.oneof(
  fc.constantFrom(...REGISTERED),
  fc.constantFrom(
    'https://app.example/cb#x',
    'https://app.example/cb/',
    'https://APP.example/cb',
    'https://app.example/a/../cb',
    'http://127.0.0.1:1/cb',
    'http://127.0.0.1/cb',
    'http://[::1]:7777/cb',
    'http://localhost:7777/cb',
    'http://127.0.0.1:7777/cb?x=1',
    'http://127.0.0.1:7777@evil.example/cb',
    'http://127.0.0.1.evil.example/cb',
    'https://app.example@evil.example/cb',
    'javascript:alert(1)',
    'data:text/html,x',
    'com.example.app:/cb ',
    'https://app.example/cb\t',
    'https://app.example\\@evil.example/cb',
  ),
  fc
    .tuple(
      fc.constantFrom('https://', 'http://', 'HTTP://', 'com.example.app:', 'javascript:', 'file://', ''),
      fc.constantFrom('', 'user:pw@', '127.0.0.1@'),
      fc.constantFrom(
        'app.example',
        '127.0.0.1',
        'localhost',
        '[::1]',
        'LOCALHOST',
        '127.0.0.2',
        '0x7f.1',
        'evil.example',
      ),
      fc.constantFrom('', ':7777', ':0', ':65536', ':'),
      fc.constantFrom('/cb', '', '/cb/../cb', '/%2e%2e/cb', '?q', '/cb#f'),
    )
    .map((parts) => parts.join('')),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  ascii,
);

const redirectTarget = target(
  'redirect URIs: only safe ones may be registered, and one taken for a registered URI is the same place',
  3000,
  fc.property(
    redirectUriLike,
    fc.constantFrom(...REGISTERED, 'http://localhost/cb', 'http://[::1]:1/'),
    (uri, registered) => {
      if (redirectUriProblem(uri) === undefined && !isSafeRedirectUri(uri))
        fail('an unsafe redirect URI may be registered');
      let matched = true;
      try {
        matchRedirectUri(uri, [registered]);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        matched = false;
      }
      if (matched && !sameRedirectTarget(uri, registered))
        fail(`${uri} was taken for the registered ${registered}`);
    },
  ),
);

const challenge = createHash('sha256').update('v'.repeat(43)).digest('base64url');
const paramValue = (name: string, good: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> =>
  mostly(good, ascii, fc.constant('')).map((v) => [name, v]);

export async function oauthTargets(): Promise<FuzzTarget[]> {
  const dynamic = new DynamicClients({ issuer: ISSUER, secret: new Uint8Array(32).fill(7) });
  const clients = new OAuthClients({ dynamic });
  const register = (method: string) =>
    dynamic.register({
      redirect_uris: REGISTERED,
      token_endpoint_auth_method: method,
      grant_types: ['authorization_code', 'refresh_token'],
    });
  const [pub, basic, post] = (await Promise.all([
    register('none'),
    register('client_secret_basic'),
    register('client_secret_post'),
  ])) as [RegistrationResponse, RegistrationResponse, RegistrationResponse];

  // Each parameter good, bad, absent or repeated, in any order; then noise.
  const param = (name: string, good: string, bad: fc.Arbitrary<string>) =>
    fc
      .oneof(
        { arbitrary: fc.constant([good]), weight: 6 },
        { arbitrary: bad.map((v) => [v]), weight: 2 },
        { arbitrary: fc.constant([]), weight: 1 },
        { arbitrary: bad.map((v) => [good, v]), weight: 1 },
      )
      .map((values) => values.map((v): [string, string] => [name, v]));
  const authorizeParams = fc
    .tuple(
      param('client_id', pub.client_id, fc.constantFrom(basic.client_id, `${pub.client_id}x`, 'pcc_x', '')),
      param('redirect_uri', REGISTERED[1] as string, redirectUriLike),
      param('response_type', 'code', fc.constantFrom('token', 'code id_token', '', 'CODE')),
      param('code_challenge', challenge, fc.constantFrom(`${challenge}=`, challenge.slice(1), '')),
      param('code_challenge_method', 'S256', fc.constantFrom('plain', 's256', '')),
      param('resource', RESOURCE, fc.constantFrom(`${RESOURCE}/`, 'https://other.example/mcp', '')),
      fc.array(
        fc.oneof(
          paramValue('scope', fc.constantFrom('tools:read', 'tools:read files:*', 'a"b', ' ')),
          paramValue('state', fc.constantFrom('s1', 'x'.repeat(2048), 'x'.repeat(2049))),
          paramValue('response_mode', fc.constantFrom('query', 'fragment')),
          paramValue('request_uri', fc.constant('https://evil.example/r')),
          fc.tuple(ascii, ascii),
        ),
        { maxLength: 3 },
      ),
    )
    .chain((groups) => fc.shuffledSubarray(groups.flat(), { minLength: groups.flat().length }));
  const authorizeTarget = target(
    'oauth /authorize: never an open redirect, and an accepted request meets every rule',
    1000,
    fc.asyncProperty(authorizeParams, async (pairs) => {
      const params = new URLSearchParams(pairs);
      const result = await parseAuthorizationRequest(params, {
        issuer: ISSUER,
        resources: [RESOURCE],
        resolveClient: (id) => clients.resolve(id),
      });
      const presented = params.getAll('redirect_uri');
      if (result.ok || result.redirect) {
        // The browser is only ever sent to a URI registered for the client named.
        if (presented.length !== 1 || !REGISTERED.some((r) => sameRedirectTarget(presented[0] as string, r)))
          fail(`the request went on with redirect_uri ${JSON.stringify(presented)}`);
      }
      if (result.ok) {
        const one = (name: string) => params.getAll(name).length === 1;
        const { request } = result;
        if (!one('response_type') || params.get('response_type') !== 'code')
          fail('response_type is not one code');
        if (!one('code_challenge') || !/^[A-Za-z0-9_-]{43}$/.test(request.codeChallenge))
          fail('bad code_challenge passed');
        if (!one('code_challenge_method') || params.get('code_challenge_method') !== 'S256')
          fail('PKCE method is not S256');
        if (!one('resource') || request.resource !== RESOURCE) fail('a foreign or repeated resource passed');
        if (params.has('request_uri') || params.has('request')) fail('a request object passed');
        if (params.getAll('state').length > 1 || (request.state?.length ?? 0) > 2048)
          fail('a bad state passed');
        if (request.scopes?.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
          fail('a malformed scope passed');
      } else if (result.redirect) {
        const to = new URL(result.location);
        const from = new URL(presented[0] as string);
        if (to.origin !== from.origin || to.pathname !== from.pathname)
          fail(`redirected to ${result.location}`);
        if (to.searchParams.get('iss') !== ISSUER || !to.searchParams.get('error'))
          fail('an error redirect lacks iss or error');
      }
    }),
  );

  const SECRETS = new Map([
    [basic.client_id, basic.client_secret as string],
    [post.client_id, post.client_secret as string],
  ]);
  const ids = fc.constantFrom(pub.client_id, basic.client_id, post.client_id, `${basic.client_id}A`, '');
  const secretFor = (id: string) =>
    fc.constantFrom(
      SECRETS.get(id) ?? 'pcs_none',
      `${SECRETS.get(id) ?? ''}x`,
      SECRETS.get(post.client_id) as string,
      '',
    );
  const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  const authorization = fc.oneof(
    fc.constant(undefined),
    ids.chain((id) =>
      secretFor(id).map(
        (secret) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`,
      ),
    ),
    ascii.map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    fc.constantFrom('Basic', 'Basic %%%', 'Bearer x', 'basic Og=='),
    ascii,
  );
  const bodyPairs = fc.array(
    fc.oneof(
      ids.map((id): [string, string] => ['client_id', id]),
      ids.chain((id) => secretFor(id)).map((s): [string, string] => ['client_secret', s]),
    ),
    { maxLength: 3 },
  );
  const tokenTarget = target(
    'oauth /token client authentication: only the registered method with the right secret passes',
    1000,
    fc.asyncProperty(authorization, bodyPairs, async (header, pairs) => {
      const body = new URLSearchParams(pairs);
      let client: Awaited<ReturnType<typeof authenticateClient>> | undefined;
      try {
        client = await authenticateClient({ authorization: header, body }, clients);
      } catch (err) {
        if (err instanceof OAuthError) return;
        throw err;
      }
      const ids = body.getAll('client_id');
      const secrets = body.getAll('client_secret');
      const expected = SECRETS.get(client.clientId);
      if (client.tokenEndpointAuthMethod === 'none') {
        if (header !== undefined || secrets.length > 0 || ids.length !== 1 || ids[0] !== client.clientId)
          fail('a public client passed with a secret or without its one client_id');
      } else if (client.tokenEndpointAuthMethod === 'client_secret_post') {
        if (
          header !== undefined ||
          secrets.length !== 1 ||
          secrets[0] !== expected ||
          ids.length !== 1 ||
          ids[0] !== client.clientId
        )
          fail('a client_secret_post client passed without exactly its secret in the body');
      } else {
        const decoded = Buffer.from((header ?? '').replace(/^Basic +/i, ''), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)].map((s) =>
          decodeURIComponent(s.replace(/\+/g, ' ')),
        );
        if (secrets.length > 0 || id !== client.clientId || secret !== expected)
          fail('a client_secret_basic client passed without its secret in the header');
      }
    }),
  );

  const metadata = fc.oneof(
    fc.record(
      {
        redirect_uris: mostly<unknown>(
          fc.array(redirectUriLike, { minLength: 1, maxLength: 3 }),
          fc.constantFrom([], 'https://a.example/cb', [1]),
        ),
        token_endpoint_auth_method: fc.constantFrom(
          'none',
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ),
        grant_types: fc.constantFrom(['authorization_code'], ['refresh_token'], ['implicit'], []),
        response_types: fc.constantFrom(['code'], ['token']),
        client_name: mostly(ascii, fc.constant(''), fc.constant('n'.repeat(101))),
        client_uri: fc.constantFrom('https://app.example', 'http://app.example', 'javascript:x'),
        scope: fc.constantFrom('tools:read', 'a"b'),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: ['redirect_uris'] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const registerTarget = target(
    'oauth /register: only safe metadata registers, its client id reads back, an altered one is refused',
    1000,
    fc.asyncProperty(metadata, fc.nat(), async (request, flip) => {
      let registered: RegistrationResponse;
      try {
        registered = await dynamic.register(request);
      } catch (err) {
        if (err instanceof OAuthError) return;
        throw err;
      }
      if (!registered.redirect_uris.every(isSafeRedirectUri)) fail('an unsafe redirect URI was registered');
      const back = await dynamic.client(registered.client_id);
      if (JSON.stringify(back.redirectUris) !== JSON.stringify(registered.redirect_uris))
        fail('the client id reads back differently');
      // Change one payload character (not a segment's last, whose spare bits may not count).
      const [prefix, header, payload, signature] = registered.client_id.split(/[_.]/) as [
        string,
        string,
        string,
        string,
      ];
      const at = flip % (payload.length - 1);
      const swapped = payload[at] === 'A' ? 'B' : 'A';
      const altered = `${prefix}_${header}.${payload.slice(0, at)}${swapped}${payload.slice(at + 1)}.${signature}`;
      if (!(await refusal(OAuthError, () => dynamic.client(altered))))
        fail('an altered client id was accepted');
    }),
  );
  return [authorizeTarget, tokenTarget, registerTarget, redirectTarget];
}

// ---- credentials ----

/** A real IncomingMessage with these header lines, merged the way Node's parser merges them. */
function requestWith(lines: readonly (readonly [string, string])[], url: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.rawHeaders = lines.flat();
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    // Node keeps the first Authorization and joins other repeated headers with ", ".
    if (key in headers)
      headers[key] = key === 'authorization' ? (headers[key] as string) : `${headers[key]}, ${value}`;
    else headers[key] = value;
  }
  req.headers = headers;
  return req;
}

const credentialText = fc.stringMatching(/^[A-Za-z0-9._~+/-]{6,24}={0,2}$/);
const userPart = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !s.includes(':'));
const credentialHeader = fc.oneof(
  fc
    .tuple(userPart, fc.string({ unit: 'binary', maxLength: 12 }))
    .map(([u, p]) => ['authorization', `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`] as const),
  credentialText.map((t) => ['authorization', `Bearer ${t}`] as const),
  credentialText.map((t) => ['Authorization', `bearer  pcl_${t}`] as const),
  credentialText.map((t) => ['x-api-key', `pcl_${t}`] as const),
  credentialText.map((t) => ['x-api-key', t] as const),
  fc
    .tuple(
      fc.constantFrom('Digest', 'Token', 'Basic', 'Bearer', ''),
      fc.constantFrom(' ', '', '  '),
      credentialText,
    )
    .map(([s, sp, t]) => ['authorization', `${s}${sp}${t}`] as const),
  ascii.map((v) => ['authorization', v] as const),
);
const queryString = fc.oneof(
  fc.constant('/mcp'),
  fc
    .tuple(fc.constantFrom('api_key', 'token', 'x', 'pcl_k', 'ACCESS_TOKEN'), credentialText)
    .map(([k, v]) => `/mcp?${k}=${v}`),
  ascii.map((q) => `/mcp?${q}`),
);

/** The credential a header line carries (what must never be echoed in a refusal). */
const carried = (value: string) => value.slice(value.indexOf(' ') + 1).trim() || value;

const credentialsTarget = target(
  'credentials: a parsed credential is exactly what was sent, and a refusal never echoes it',
  2000,
  fc.asyncProperty(
    credentialHeader,
    fc.option(credentialHeader, { nil: undefined }),
    queryString,
    async (first, second, url) => {
      const lines = second && second[0].toLowerCase() !== first[0].toLowerCase() ? [first, second] : [first];
      const req = requestWith(lines, url);
      const refused = await refusal(AuthError, () => readCredential(req));
      if (refused) {
        for (const secret of [...lines.map(([, v]) => carried(v)), url.split('=')[1] ?? '']) {
          if (secret.length >= 6 && /\d/.test(secret) && refused.message.includes(secret))
            fail(`the refusal echoes ${secret}`);
        }
        return;
      }
      const got = readCredential(req);
      if (lines.length !== 1 && got !== undefined) fail('two credentials at once were accepted');
      const [name, value] = first;
      if (!got) return;
      if (got.kind === 'basic') {
        const sent = Buffer.from(carried(value), 'base64').toString('utf8');
        if (sent !== `${got.username}:${got.password}` || got.username === '')
          fail('Basic credentials were read wrong');
      } else if (got.kind === 'bearer') {
        if (!/^bearer /i.test(value) || got.token !== carried(value) || got.token.startsWith('pcl_'))
          fail('a bearer token was read wrong');
      } else if (
        !got.key.startsWith('pcl_') ||
        (name.toLowerCase() === 'x-api-key' ? got.key !== value : got.key !== carried(value))
      ) {
        fail('an API key was read wrong');
      }
    },
  ),
);

const duplicateCredentialsTarget = target(
  'credentials: two Authorization headers (or two X-API-Key, or both) are refused',
  200,
  fc.asyncProperty(credentialHeader, credentialHeader, async (first, second) => {
    const req = requestWith([first, second], '/mcp');
    if (!(await refusal(AuthError, () => readCredential(req)))) fail('two credential headers were accepted');
  }),
);

/** A cheap but valid scrypt hash (ln=10), so the target can try many passwords. */
function quickHash(password: string): string {
  const salt = Buffer.alloc(16, 1);
  const digest = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  return `$scrypt$ln=10,r=8,p=1$${salt.toString('base64')}$${digest.toString('base64')}`;
}

const smallWord = fc.string({ unit: fc.constantFrom('a', 'b', '\0', ':', 'é'), minLength: 1, maxLength: 5 });
// Configured passwords hold no NUL: hashPassword refuses one.
const basicUsers = fc.uniqueArray(
  fc.tuple(
    smallWord.filter((u) => !u.includes(':')),
    smallWord.filter((p) => !p.includes('\0')),
  ),
  { selector: ([u]) => u, minLength: 1, maxLength: 3 },
);
/**
 * Attempts at the configured users: wrong passwords, near misses, the same `name` + NUL + `password`
 * string cut at another point (a boundary the password cache must not blur), and strangers (rarer: a stranger
 * costs a full-strength scrypt against the decoy hash).
 */
const attemptsOn = (users: readonly (readonly [string, string])[]) => {
  const user = fc.constantFrom(...users);
  return fc.array(
    fc.oneof(
      { arbitrary: user.chain(([u]) => smallWord.map((p): [string, string] => [u, p])), weight: 4 },
      {
        arbitrary: fc.tuple(user, fc.nat()).map(([[u, p], at]): [string, string] => {
          const whole = `${u}\0${p}`;
          const cut = at % whole.length;
          return [whole.slice(0, cut), whole.slice(cut + 1)];
        }),
        weight: 2,
      },
      {
        // Near misses: one character more (a NUL too) or less.
        arbitrary: user.chain(([u, p]) =>
          fc.constantFrom(`${p}\0`, `${p}a`, p.slice(0, -1)).map((q): [string, string] => [u, q]),
        ),
        weight: 2,
      },
      { arbitrary: fc.tuple(smallWord, smallWord), weight: 1 },
    ),
    { maxLength: 6 },
  );
};

const basicUsersTarget = target(
  'basic users: only a configured user with its own password signs in, remembered pairs included',
  15,
  fc.asyncProperty(
    basicUsers.chain((users) => fc.tuple(fc.constant(users), attemptsOn(users))),
    async ([users, attempts]) => {
      const config = authSchema.parse({
        basic: {
          users: Object.fromEntries(users.map(([u, p]) => [u, { passwordHash: quickHash(p) }])),
          failedAttempts: { perIp: 1e6, perUser: 1e6 },
        },
      }).basic;
      if (!config) fail('no basic config');
      const basic = new BasicUsers(config, []);
      const known = new Map(users);
      // Each user signs in once first, so every later attempt meets a warm cache.
      for (const [username, password] of [...users, ...attempts]) {
        const refused = await refusal(AuthError, () =>
          basic.verify({ username, password, clientIp: '127.0.0.1', secure: true }),
        );
        const right = known.get(username) === password;
        if (refused && right) fail(`${JSON.stringify(username)} was refused its own password`);
        if (!refused && !right) fail(`${JSON.stringify([username, password])} signed in`);
      }
    },
  ),
);

// ---- path and URL guards ----

function guardsFor(tool: string, guards: unknown): ArgumentGuards {
  const policy = policySchema.parse({
    tools: { [`up.${tool}`]: { guards: { schema: false, ...(guards as object) } } },
  }).tools[`up.${tool}`];
  if (!policy) fail('no policy');
  return new ArgumentGuards(tool, policy);
}

/** root/ with files, a directory and symlinks in and out; outside/ beside it. */
function pathFixture(dir: string, dangling: boolean): { root: string; outside: string } {
  const root = join(dir, dangling ? 'root-d' : 'root');
  const outside = join(dir, dangling ? 'outside-d' : 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'a');
  writeFileSync(join(root, 'sub', 'b.txt'), 'b');
  writeFileSync(join(outside, 'secret.txt'), 's');
  symlinkSync('sub', join(root, 'link-in'));
  symlinkSync(outside, join(root, 'link-out'));
  symlinkSync('../outside/secret.txt', join(root, 'file-out'));
  if (dangling) {
    symlinkSync(join(outside, 'new.txt'), join(root, 'dangling'));
    symlinkSync(join(outside, 'newdir'), join(root, 'dangling-dir'));
    symlinkSync('sub/none', join(root, 'dangling-in'));
  }
  return { root, outside };
}

function pathArbitrary(root: string, outside: string, names: readonly string[]): fc.Arbitrary<string> {
  const segmentArb = fc.oneof(
    { arbitrary: fc.constantFrom(...names), weight: 4 },
    fc.constantFrom('', '.', '..', 'new', '%2e%2e', '%2f', '~', '\0', 'a b'),
    fc.string({ unit: 'binary', maxLength: 4 }),
  );
  return fc
    .tuple(
      fc.constantFrom(
        root,
        `${root}/`,
        outside,
        '/',
        '',
        '~',
        '/tmp/..',
        `${root}/../${root.split('/').pop()}`,
      ),
      fc.array(fc.tuple(fc.constantFrom('/', '//', '\\'), segmentArb), { maxLength: 4 }),
      fc.constantFrom('plain', 'file', 'file-encoded', 'file-host'),
    )
    .map(([start, rest, form]) => {
      const path = start + rest.map(([s, seg]) => s + seg).join('');
      if (form === 'plain') return path;
      if (form === 'file') return `file://${path}`;
      if (form === 'file-host') return `file://evil${path}`;
      return `file://${path.split('/').map(encodeURIComponent).join('/')}`;
    });
}

/** Where a consumer of the argument would go: the path as given, or a file URL as Node converts it. */
function consumerPath(value: string): string | undefined {
  if (!value.startsWith('file://')) return value;
  try {
    return fileURLToPath(value);
  } catch {
    return undefined;
  }
}

export function pathTargets(dir: string): FuzzTarget[] {
  const make = (dangling: boolean) => {
    const { root, outside } = pathFixture(dir, dangling);
    const guard = guardsFor('write_file', { paths: { args: ['path'], roots: [root] } });
    const names = [
      'a.txt',
      'sub',
      'b.txt',
      'link-in',
      'link-out',
      'file-out',
      'secret.txt',
      ...(dangling ? ['dangling', 'dangling-dir', 'dangling-in'] : []),
    ];
    return fc.asyncProperty(pathArbitrary(root, outside, names), async (path) => {
      if (await refusal(GatewayError, () => guard.check({ path }, undefined))) return;
      const leads = consumerPath(path);
      if (leads !== undefined && !(await isInside(leads, root)))
        fail(`${JSON.stringify(path)} was allowed but leads outside ${root}`);
    });
  };
  return [
    target('path guard: an allowed path leads inside a root', 1000, make(false)),
    target('path guard: an allowed path leads inside a root, dangling symlinks included', 500, make(true)),
  ];
}

const v4 = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '127.0.0.1',
    '127.1',
    '0x7f.1',
    '2130706433',
    '017700000001',
    '0',
    '10.0.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '192.168.1.1',
    '172.31.0.1',
    '8.8.8.8',
    '255.255.255.255',
  ),
);
const v6 = fc.oneof(
  fc.ipV6(),
  fc.constantFrom(
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::127.0.0.1',
    '::7f00:1',
    '::ffff:0:127.0.0.1',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2002:c0a8:101::1',
    '2001::1',
    'fe80::1',
    'fc00::1',
    'ff02::1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '::8.8.8.8',
  ),
  v4.map((a) => `::ffff:${a}`),
  v4.map((a) => `::${a}`),
  v4.map((a) => `64:ff9b::${a}`),
);
const urlArbitrary = fc
  .tuple(
    fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'file://', 'http:/', 'http:\\\\'),
    fc.constantFrom('', 'user:pw@', 'user@'),
    fc.oneof(
      v4,
      v6.map((a) => `[${a}]`),
      fc.constantFrom('localhost', 'LOCALHOST', 'localhost.', '[::1]', '0x7f000001', '%31%32%37.0.0.1'),
    ),
    fc.constantFrom('', ':80', ':8080', ':0'),
    fc.constantFrom('/', '/a?b=c', '#x', ''),
  )
  .map((parts) => parts.join(''));

const urlTarget = target(
  'url guard: an allowed URL is http(s), carries no credentials, and every address it reaches is public',
  1500,
  fc.asyncProperty(urlArbitrary, async (url) => {
    const guard = guardsFor('fetch', { urls: { args: ['url'] } });
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    const host = parsed?.hostname.replace(/^\[|\]$/g, '');
    // Names other than localhost would be looked up in DNS, off this machine: left out.
    if (
      host !== undefined &&
      isIP(host) === 0 &&
      host !== 'localhost' &&
      /^https?:$/.test(parsed?.protocol ?? '')
    )
      return;
    if (await refusal(GatewayError, () => guard.check({ url }, undefined))) return;
    if (!parsed || !/^https?:$/.test(parsed.protocol)) fail('a URL that is not http(s) was allowed');
    if (parsed.username || parsed.password) fail('a URL with credentials was allowed');
    const addresses = isIP(host as string)
      ? [host as string]
      : (await lookup(host as string, { all: true })).map((a) => a.address);
    for (const address of addresses) if (mustNeverReach(address)) fail(`allowed, but reaches ${address}`);
  }),
);

// ---- redaction ----

/** The encodings the redactor says it masks (src/audit/redact.ts, point 1). */
const encodings = (secret: string) => [
  secret,
  JSON.stringify(secret).slice(1, -1),
  encodeURIComponent(secret),
  new URLSearchParams({ v: secret }).toString().slice(2),
];
// \u0001 stands in for every mask, so a secret cannot seem to survive across one (secrets never hold it).
const unmasked = (line: string) => line.split(REDACTED).join('\u0001');
const secretArb = fc
  .string({ unit: 'binary', minLength: 4, maxLength: 16 })
  .filter((s) => !s.includes('\u0001'));
const around = fc.oneof(
  text,
  fc.constantFrom('Authorization: Bearer ', 'token=', '{"password":"', 'https://h/?q=', '\\"', '%'),
);

const redactTextTarget = target(
  'redaction: a registered secret never survives in a line, raw, JSON-escaped, URL- or form-encoded',
  1500,
  fc.property(
    fc.uniqueArray(secretArb, { minLength: 1, maxLength: 3 }),
    fc.array(fc.tuple(around, fc.nat(3), fc.nat(3)), { maxLength: 5 }),
    (secrets, pieces) => {
      const redactor = new Redactor(secrets);
      const line = pieces
        .map(
          ([before, which, form]) => `${before}${encodings(secrets[which % secrets.length] as string)[form]}`,
        )
        .join('');
      const out = unmasked(redactor.text(line));
      for (const secret of secrets)
        for (const form of encodings(secret))
          if (out.includes(form)) fail(`${JSON.stringify(form)} survived in ${JSON.stringify(out)}`);
    },
  ),
);

const redactValueTarget = target(
  'redaction: a registered secret never survives anywhere in a redacted value, keys included',
  1000,
  fc.property(
    secretArb,
    fc.jsonValue({ maxDepth: 3 }),
    fc.array(fc.nat(), { maxLength: 3 }),
    (secret, value, spots) => {
      // Plant the secret as a key and inside values along a random path.
      let tree: unknown = value;
      for (const spot of spots)
        tree =
          spot % 3 === 0
            ? { [`k${secret}`]: tree }
            : spot % 3 === 1
              ? [tree, `x ${secret} y`]
              : { v: tree, w: secret };
      const out = unmasked(JSON.stringify(new Redactor([secret]).value(tree)) ?? '');
      for (const form of encodings(secret))
        if (out.includes(form)) fail(`${JSON.stringify(form)} survived in ${out}`);
    },
  ),
);

/** Every target, with the files and directories they need; `close` removes them. */
export async function openTargets(): Promise<{ targets: FuzzTarget[]; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-fuzz-'));
  const targets = [
    jsonRpcTarget,
    modernTarget,
    paramHeadersTarget,
    ...configTargets(dir),
    ...(await oauthTargets()),
    credentialsTarget,
    duplicateCredentialsTarget,
    basicUsersTarget,
    ...pathTargets(dir),
    urlTarget,
    redactTextTarget,
    redactValueTarget,
  ];
  return { targets, close: () => rmSync(dir, { recursive: true, force: true }) };
}
