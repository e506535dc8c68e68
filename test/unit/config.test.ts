import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';

const NONE = 'auth: { none: true }\n';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, tmpdir(), env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message.split('\n');
  }
  assert.fail('the config was accepted');
}

describe('config', () => {
  it('refuses virtual servers that name no upstream, take a path the gateway serves, or share a path', () => {
    const base = `upstreams: { crm: { command: node }, docs: { command: node } }\n${NONE}`;
    assert.deepEqual(problems(`${base}endpoints: { support: { include: [billing.*] } }\n`), [
      'config: endpoints.support.include[0] names no configured upstream — the part before the first . is an upstream (crm, docs)',
    ]);
    assert.match(
      problems(`${base}endpoints: { support: { path: /admin/mcp, include: [crm.*] } }\n`)[0] ?? '',
      /endpoints\.support\.path uses a segment the gateway serves itself/,
    );
    assert.match(
      problems(
        `${base}endpoints: { a: { path: /x/mcp, include: [crm.*] }, b: { path: /x/mcp, include: [docs.*] } }\n`,
      )[0] ?? '',
      /endpoints\.b\.path is \/x\/mcp, as endpoints\.a's is/,
    );
    assert.match(
      problems(`${base}endpoints: { a: { include: [crm] } }\n`)[0] ?? '',
      /must be <upstream>\.<tool or prompt pattern>/,
    );
    const { config } = parseConfig(
      `${base}endpoints: { support: { include: ["crm.search_*", "*.read"], policy: { readOnly: true } } }\n`,
      tmpdir(),
      {},
    );
    assert.equal(config.endpoints.support?.policy.readOnly, true);
    assert.equal(config.aggregate.deadline, 10_000);
  });

  it('refuses a tool-name prefix outside what tool calling accepts', () => {
    assert.match(
      problems(`upstreams: { crm: { command: node, prefix: "crm.v2" } }\n${NONE}`)[0] ?? '',
      /upstreams\.crm\.prefix must be 1 to 32 letters, digits, - or _/,
    );
  });

  it('accepts the minimal config and fills safe defaults', () => {
    const { config } = parseConfig(`upstreams: { everything: { command: node } }\n${NONE}`, tmpdir(), {});
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.listen.port, 8787);
    assert.equal(config.limits.maxBody, 1024 * 1024);
    assert.deepEqual(config.upstreams.everything?.env, {});
    assert.equal(config.upstreams.everything?.timeout, 60_000);
  });

  it('names the field and the fix for a missing command', () => {
    assert.deepEqual(problems(`upstreams: { files: { args: [x] } }\n${NONE}`), [
      'config: upstreams.files.command is missing — set command (and args) to run a stdio MCP server, or url to reach a Streamable HTTP one',
    ]);
  });

  it('refuses a plain-http upstream URL to a non-loopback host and says how to allow it', () => {
    const [line] = problems(`upstreams: { crm: { url: "http://crm.example.com/mcp" } }\n${NONE}`);
    assert.match(
      line ?? '',
      /^config: upstreams\.crm\.url is plain http:\/\/ to crm\.example\.com — use https:\/\/.*allowPrivateHost: crm\.example\.com/,
    );
  });

  it('accepts https, loopback http and an explicitly allowed private host', () => {
    for (const upstream of [
      '{ url: "https://crm.example.com/mcp" }',
      '{ url: "http://127.0.0.1:3000/mcp" }',
      '{ url: "http://[::1]:3000/mcp" }',
      '{ url: "http://build.internal:3000/mcp", allowPrivateHost: build.internal }',
    ]) {
      assert.doesNotThrow(
        () => parseConfig(`upstreams: { a: ${upstream} }\n${NONE}`, tmpdir(), {}),
        upstream,
      );
    }
  });

  it('refuses other URL schemes and credentials in the URL', () => {
    assert.match(
      problems(`upstreams: { a: { url: "ftp://x/mcp" } }\n${NONE}`)[0] ?? '',
      /upstreams\.a\.url uses ftp: — only https:\/\//,
    );
    assert.match(
      problems(`upstreams: { a: { url: "https://u:p@x/mcp" } }\n${NONE}`)[0] ?? '',
      /upstreams\.a\.url must not carry a user name or password — put credentials in headers/,
    );
  });

  it('rejects an unknown key and suggests the right spelling', () => {
    assert.deepEqual(problems(`upstreams: { files: { command: node, agrs: [x] } }\n${NONE}`), [
      'config: upstreams.files has an unknown setting "agrs" — did you mean args?',
    ]);
    assert.match(
      problems(`lisen: {}\nupstreams: { a: { command: node } }\n${NONE}`)[0] ?? '',
      /^config: has an unknown setting "lisen" — did you mean listen\?/,
    );
  });

  it('names a missing environment variable and where it was used', () => {
    const yaml = `upstreams: { crm: { url: "https://crm.example.com/mcp", headers: { Authorization: "Bearer \${env:CRM_TOKEN}" } } }\n${NONE}`;
    assert.deepEqual(problems(yaml), [
      'config: upstreams.crm.headers.Authorization environment variable CRM_TOKEN is not set — export it before starting, or use ${file:PATH}',
    ]);
  });

  it('fills ${env:…} and ${file:…} and records the values as secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-config-'));
    writeFileSync(join(dir, 'token'), 's3cret-from-file\n');
    const yaml = `upstreams:\n  crm:\n    url: https://crm.example.com/mcp\n    headers: { Authorization: "Bearer \${env:CRM_TOKEN}", X-Other: "\${file:token}" }\n${NONE}`;
    const loaded = parseConfig(yaml, dir, { CRM_TOKEN: 'tok-from-env' });
    assert.equal(loaded.config.upstreams.crm?.headers.Authorization, 'Bearer tok-from-env');
    assert.equal(loaded.config.upstreams.crm?.headers['X-Other'], 's3cret-from-file');
    assert.deepEqual([...loaded.secrets].sort(), ['s3cret-from-file', 'tok-from-env']);
  });

  it('refuses an unknown ${…} reference and an unreadable secret file', () => {
    assert.match(
      problems(`upstreams: { a: { command: "\${CMD}" } }\n${NONE}`)[0] ?? '',
      /upstreams\.a\.command \$\{CMD\} is not a known reference — use \$\{env:NAME\}/,
    );
    assert.match(
      problems(`upstreams: { a: { command: "\${file:/nonexistent/x}" } }\n${NONE}`)[0] ?? '',
      /upstreams\.a\.command cannot read secret file \/nonexistent\/x \(ENOENT\)/,
    );
  });

  it('refuses to run without authentication, and auth.none off loopback', () => {
    assert.deepEqual(problems('upstreams: { a: { command: node } }\n'), [
      'config: auth configures no authentication — add apiKeys, basic, jwt or introspection, or for a loopback-only trial set auth: { none: true }',
    ]);
    const lines = problems(
      `listen: { host: 0.0.0.0 }\npublicUrl: https://mcp.example.com\nupstreams: { a: { command: node } }\n${NONE}`,
    );
    assert.deepEqual(lines, [
      'config: auth.none is refused because listen.host 0.0.0.0 is reachable from other machines — bind to 127.0.0.1 or configure authentication',
    ]);
  });

  it('requires publicUrl off loopback, https unless loopback', () => {
    assert.match(
      problems(`listen: { host: 0.0.0.0 }\nupstreams: { a: { command: node } }\n`)[0] ?? '',
      /^config: publicUrl is missing — listen\.host 0\.0\.0\.0 is not loopback/,
    );
    assert.match(
      problems(`publicUrl: http://mcp.example.com\nupstreams: { a: { command: node } }\n${NONE}`)[0] ?? '',
      /^config: publicUrl must be https:\/\//,
    );
  });

  it('explains wrong types, durations and sizes', () => {
    assert.deepEqual(problems(`listen: { port: "80a" }\nupstreams: { a: { command: node } }\n${NONE}`), [
      'config: listen.port must be a port number from 0 to 65535, e.g. 8787',
    ]);
    assert.deepEqual(problems(`upstreams: { a: { command: node, timeout: 5x } }\n${NONE}`), [
      'config: upstreams.a.timeout "5x" is not a duration — write it like 250ms, 30s, 5m or 1h',
    ]);
    assert.deepEqual(problems(`upstreams: { a: { command: node } }\nlimits: { maxBody: lots }\n${NONE}`), [
      'config: limits.maxBody "lots" is not a size — write it like 512kb or 1mb',
    ]);
    const { config } = parseConfig(
      `upstreams: { a: { command: node, timeout: 2m } }\nlimits: { maxBody: 2mb }\n${NONE}`,
      tmpdir(),
      {},
    );
    assert.equal(config.upstreams.a?.timeout, 120_000);
    assert.equal(config.limits.maxBody, 2 * 1024 * 1024);
  });

  it('refuses an upstream with both command and url, or with an invalid name', () => {
    assert.match(
      problems(`upstreams: { a: { command: node, url: "https://x/mcp" } }\n${NONE}`)[0] ?? '',
      /upstreams\.a\.url cannot be set together with command/,
    );
    assert.match(
      problems(`upstreams: { "Bad Name": { command: node } }\n${NONE}`)[0] ?? '',
      /upstreams\.Bad Name is not a valid upstream name — use lower-case letters/,
    );
  });

  it('reports invalid YAML and a missing file with the fix', () => {
    assert.match(problems('upstreams: [unclosed\n')[0] ?? '', /^config: is not valid YAML/);
    assert.throws(
      () => loadConfigFile('/nonexistent/portcullis.yaml'),
      /cannot read \/nonexistent\/portcullis\.yaml \(ENOENT\) — create it/,
    );
  });
});
