/** The README's client snippets and audit event table say what the code does (issue 14 item 9). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { AUDIT_EVENT_TYPES } from '../../src/audit/events.js';
import { clientSnippets } from '../../src/cli/client-snippets.js';

const readme = readFileSync('README.md', 'utf8');

it('the README shows exactly the client snippets the start banner prints', () => {
  const block = /<!-- clients:start -->\n([\s\S]*?)<!-- clients:end -->/.exec(readme)?.[1];
  const expected = clientSnippets('portcullis', 'http://127.0.0.1:8787/mcp', 'pcl_YOUR_KEY')
    .map((s) => `**${s.title}:**\n\n\`\`\`${s.text.startsWith('{') ? 'json' : 'sh'}\n${s.text}\n\`\`\`\n`)
    .join('\n');
  assert.equal(block, expected);
  assert.match(expected, /"servers": \{/, "VS Code's mcp.json says servers");
});

it('the audit event table lists every event type the code records', () => {
  const section = readme.slice(
    readme.indexOf('## Audit trail and observability'),
    readme.indexOf('**Sinks.**'),
  );
  const listed = new Set(
    section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) => [...(l.split(' | ')[0] ?? '').matchAll(/`([a-z_.]+)`/g)].map((m) => m[1])),
  );
  assert.deepEqual(
    AUDIT_EVENT_TYPES.filter((t) => !listed.has(t)),
    [],
  );
  const success = section.split('\n').find((l) => l.startsWith('| `auth.success`')) ?? '';
  for (const method of ['api-key', 'basic', 'jwt', 'introspection', 'oauth'])
    assert.ok(success.includes(`\`${method}\``), method);
  assert.match(section, /`invalid_credentials`/);
});

it('the quick start says what a 401 needs', () => {
  assert.match(readme, /`Content-Type: application\/json`[\s\S]{0,300}`415 unsupported_media_type`/);
  assert.doesNotMatch(readme, /being built next/);
});
