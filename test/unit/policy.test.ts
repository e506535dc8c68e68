/**
 * The authorization policy's pieces in isolation: glob patterns, scope sets with wildcards and roles,
 * tool classes from annotations and overrides, and the one Policy decision for tools, resources and
 * prompts (class requirements, rules with and without `upstreams`, unknown tools, read-only mode);
 * then the Gatekeeper that turns decisions into list filtering and refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ROLES, policySchema } from '../../src/config/policy-schema.js';
import type { JsonRpcRequest } from '../../src/core/jsonrpc.js';
import type { Principal } from '../../src/core/principal.js';
import { ToolCatalog, type ToolEntry } from '../../src/policy/catalog.js';
import { canStepUp, FORBIDDEN, Gatekeeper } from '../../src/policy/gatekeeper.js';
import { globToRegExp, matchesAny } from '../../src/policy/glob.js';
import { type Decision, Policy } from '../../src/policy/policy.js';
import { effectiveScopes, ScopeSet } from '../../src/policy/scopes.js';

const policy = (config: unknown = {}) => new Policy(policySchema.parse(config));
const tool = (name: string, annotations: Record<string, unknown> = {}): ToolEntry => ({
  name,
  inputSchema: { type: 'object' },
  annotations,
});
const scopes = (...list: string[]) => new ScopeSet(list);
const READ = tool('read_file', { readOnlyHint: true });
const WRITE = tool('create_directory', { readOnlyHint: false, destructiveHint: false });
const DESTRUCTIVE = tool('write_file', { readOnlyHint: false, destructiveHint: true });
const allowed = (rule: string, required: string[]): Decision => ({
  allowed: true,
  missing: [],
  required,
  rule,
});

describe('globToRegExp', () => {
  it('* matches any run of characters, dots and slashes included, and the empty string', () => {
    const re = globToRegExp('files.*');
    for (const s of ['files.', 'files.read_file', 'files.a.b', 'files.x/y/z'])
      assert.equal(re.test(s), true, s);
    for (const s of ['files', 'other.files.x', 'xfiles.read']) assert.equal(re.test(s), false, s);
    assert.equal(globToRegExp('*').test(''), true);
    assert.equal(globToRegExp('*').test('anything at all/.:'), true);
    assert.equal(globToRegExp('demo://*/static/*').test('demo://resource/static/document/a.md'), true);
    assert.equal(globToRegExp('a*b*c').test('aXXbYYc'), true);
    assert.equal(globToRegExp('a*b*c').test('aXXcYYb'), false);
  });

  it('is anchored at both ends', () => {
    assert.equal(globToRegExp('echo').test('echo'), true);
    assert.equal(globToRegExp('echo').test('echo2'), false);
    assert.equal(globToRegExp('echo').test('x.echo'), false);
    assert.equal(globToRegExp('*.echo').test('x.echo'), true);
    assert.equal(globToRegExp('*.echo').test('x.echoes'), false);
  });

  it('treats every other character literally, regex metacharacters included', () => {
    assert.equal(globToRegExp('files.read').test('filesXread'), false, '. is not any character');
    assert.equal(globToRegExp('a?').test('a'), false, '? is literal');
    assert.equal(globToRegExp('a?').test('a?'), true);
    assert.equal(globToRegExp('a+').test('aa'), false);
    assert.equal(globToRegExp('[ab]').test('a'), false);
    assert.equal(globToRegExp('[ab]').test('[ab]'), true);
    assert.equal(globToRegExp('(x|y)').test('x'), false);
    assert.equal(globToRegExp('(x|y)').test('(x|y)'), true);
    assert.equal(globToRegExp('^a$').test('^a$'), true);
    assert.equal(globToRegExp('{id}').test('{id}'), true);
    assert.equal(globToRegExp('a\\b').test('a\\b'), true);
    assert.equal(globToRegExp('demo://r/{id}').test('demo://r/{id}'), true);
    assert.equal(
      globToRegExp('demo://r/*').test('demo://r/{id}'),
      true,
      'a URI template matches as a string',
    );
  });

  it('matchesAny: any of the patterns, none when the list is empty', () => {
    const patterns = ['files.read_*', '*.echo'].map(globToRegExp);
    assert.equal(matchesAny(patterns, 'files.read_file'), true);
    assert.equal(matchesAny(patterns, 'everything.echo'), true);
    assert.equal(matchesAny(patterns, 'files.write_file'), false);
    assert.equal(matchesAny([], 'anything'), false);
  });
});

describe('ScopeSet', () => {
  it('holds exactly the scopes it was given', () => {
    const s = scopes('tools:read', 'files:write');
    assert.equal(s.holds('tools:read'), true);
    assert.equal(s.holds('files:write'), true);
    assert.equal(s.holds('tools:write'), false);
    assert.equal(s.holds('files:read'), false);
    assert.equal(s.holds('tools'), false);
    assert.equal(s.all, false);
    assert.equal(scopes().holds('tools:read'), false);
  });

  it('* holds everything', () => {
    const s = scopes('*');
    assert.equal(s.all, true);
    for (const scope of ['tools:read', 'tools:destructive', 'secret:read', 'x', ''])
      assert.equal(s.holds(scope), true);
  });

  it('x:* holds every x:… scope and nothing else', () => {
    const s = scopes('files:*');
    assert.equal(s.holds('files:read'), true);
    assert.equal(s.holds('files:write'), true);
    assert.equal(s.holds('files:destructive'), true);
    assert.equal(s.holds('files:a:b'), true);
    assert.equal(s.holds('files'), false);
    assert.equal(s.holds('filesystem:read'), false);
    assert.equal(s.holds('other:files:read'), false);
    assert.equal(s.holds('tools:read'), false);
    assert.equal(s.all, false);
  });

  it('only a trailing :* is a wildcard', () => {
    const s = scopes('*:read', 'files*', 'a:*:b');
    assert.equal(s.holds('*:read'), true, 'literally');
    assert.equal(s.holds('tools:read'), false);
    assert.equal(s.holds('files:read'), false);
    assert.equal(s.holds('filesystem'), false);
    assert.equal(s.holds('a:x:b'), false);
    assert.equal(s.all, false);
  });
});

describe('effectiveScopes and roles', () => {
  it('expands the default roles: viewer reads, editor adds tools:write, admin holds everything', () => {
    const viewer = effectiveScopes([], ['viewer'], DEFAULT_ROLES);
    for (const s of ['tools:read', 'resources:read', 'prompts:read']) assert.equal(viewer.holds(s), true, s);
    for (const s of ['tools:write', 'tools:destructive', 'files:read'])
      assert.equal(viewer.holds(s), false, s);

    const editor = effectiveScopes([], ['editor'], DEFAULT_ROLES);
    for (const s of ['tools:read', 'tools:write', 'resources:read', 'prompts:read'])
      assert.equal(editor.holds(s), true, s);
    assert.equal(editor.holds('tools:destructive'), false);

    const admin = effectiveScopes([], ['admin'], DEFAULT_ROLES);
    assert.equal(admin.all, true);
    assert.equal(admin.holds('secret:read'), true);
  });

  it('adds role scopes to the principal’s own scopes', () => {
    const s = effectiveScopes(['tools:destructive', 'files:*'], ['editor'], DEFAULT_ROLES);
    for (const scope of ['tools:destructive', 'files:read', 'tools:write', 'prompts:read'])
      assert.equal(s.holds(scope), true, scope);
    assert.equal(s.holds('secret:read'), false);
  });

  it('an unknown role adds nothing, inherited object keys included (fail closed)', () => {
    for (const role of ['superuser', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Viewer']) {
      const s = effectiveScopes([], [role], DEFAULT_ROLES);
      assert.equal(s.all, false, role);
      assert.equal(s.holds('tools:read'), false, role);
    }
    const mixed = effectiveScopes(['files:read'], ['nope', 'viewer'], DEFAULT_ROLES);
    assert.equal(mixed.holds('files:read'), true);
    assert.equal(mixed.holds('tools:read'), true);
    assert.equal(mixed.holds('tools:write'), false);
  });

  it('Policy.scopesOf uses the default roles, or exactly the configured ones instead', () => {
    const principal: Principal = {
      id: 'p',
      kind: 'api-key',
      name: 'p',
      scopes: ['files:read'],
      roles: ['editor'],
    };
    const byDefault = policy().scopesOf(principal);
    assert.equal(byDefault.holds('tools:write'), true);
    assert.equal(byDefault.holds('files:read'), true);
    assert.deepEqual(policy().roles, DEFAULT_ROLES);

    const configured = policy({ roles: { ops: ['tools:*', 'secret:read'], editor: ['tools:read'] } });
    const ops = configured.scopesOf({ ...principal, roles: ['ops'] });
    assert.equal(ops.holds('tools:destructive'), true);
    assert.equal(ops.holds('secret:read'), true);
    assert.equal(ops.holds('resources:read'), false);
    // configured roles replace the defaults: editor is redefined, viewer and admin no longer exist
    const editor = configured.scopesOf(principal);
    assert.equal(editor.holds('tools:read'), true);
    assert.equal(editor.holds('tools:write'), false);
    assert.equal(configured.scopesOf({ ...principal, roles: ['admin'] }).all, false);
    assert.equal(configured.scopesOf({ ...principal, roles: ['viewer'] }).holds('tools:read'), false);
    // no roles at all: the principal's scopes only
    const plain = configured.scopesOf({ id: 'q', kind: 'jwt', name: 'q', scopes: ['tools:read'] });
    assert.equal(plain.holds('tools:read'), true);
    assert.equal(plain.holds('resources:read'), false);
  });

  it('the schema refuses invalid role names and scopes', () => {
    assert.equal(policySchema.safeParse({ roles: { Admin: ['*'] } }).success, false);
    assert.equal(policySchema.safeParse({ roles: { ops: ['has space'] } }).success, false);
    assert.equal(policySchema.safeParse({ roles: { ops: ['tools:*'] } }).success, true);
  });
});

describe('Policy.toolClass', () => {
  const p = policy({
    tools: {
      'files.write_file': { readOnly: true },
      'files.read_file': { readOnly: false },
      'files.read_text_file': { readOnly: false, destructive: false },
      'files.move_file': { destructive: false },
      'files.create_directory': { destructive: true },
      'files.guarded': { guards: { maxStringLength: 10 } },
    },
  });

  it('derives the class from the annotations: read only on readOnlyHint true, destructive unless destructiveHint false', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'destructive'],
      [{ readOnlyHint: true }, 'read'],
      [{ readOnlyHint: true, destructiveHint: true }, 'read'],
      [{ readOnlyHint: false }, 'destructive'],
      [{ destructiveHint: false }, 'write'],
      [{ readOnlyHint: false, destructiveHint: false }, 'write'],
      [{ readOnlyHint: false, destructiveHint: true }, 'destructive'],
      [{ readOnlyHint: 'true' }, 'destructive'],
      [{ readOnlyHint: 1, destructiveHint: 0 }, 'destructive'],
      [{ destructiveHint: 'false' }, 'destructive'],
    ];
    for (const [annotations, expected] of cases) {
      assert.equal(policy().toolClass('u', tool('t', annotations)), expected, JSON.stringify(annotations));
    }
  });

  it('config overrides win over the annotations, per <upstream>.<tool>', () => {
    assert.equal(p.toolClass('files', tool('write_file', DESTRUCTIVE.annotations)), 'read');
    assert.equal(p.toolClass('files', tool('read_file', { readOnlyHint: true })), 'destructive');
    assert.equal(
      p.toolClass('files', tool('read_file', { readOnlyHint: true, destructiveHint: false })),
      'write',
    );
    assert.equal(p.toolClass('files', tool('read_text_file', { readOnlyHint: true })), 'write');
    assert.equal(
      p.toolClass('files', tool('move_file', { readOnlyHint: false, destructiveHint: true })),
      'write',
    );
    assert.equal(p.toolClass('files', tool('create_directory', WRITE.annotations)), 'destructive');
    // an override with guards only changes no class
    assert.equal(p.toolClass('files', tool('guarded', { readOnlyHint: true })), 'read');
    // the same tool name on another upstream keeps its annotations
    assert.equal(p.toolClass('other', tool('write_file', DESTRUCTIVE.annotations)), 'destructive');
    assert.equal(p.toolClass('other', tool('read_file', { readOnlyHint: true })), 'read');
  });

  it('toolPolicy looks up own keys only', () => {
    assert.equal(p.toolPolicy('files', 'write_file')?.readOnly, true);
    assert.equal(p.toolPolicy('files', 'nope'), undefined);
    assert.equal(p.toolPolicy('__proto__', ''), undefined);
    assert.equal(policy().toolPolicy('constructor', 'x'), undefined);
  });
});

describe('Policy.decideTool', () => {
  const p = policy();

  it('read needs tools:read or <upstream>:read', () => {
    for (const held of [['tools:read'], ['files:read'], ['files:*'], ['tools:*'], ['*']]) {
      assert.deepEqual(
        p.decideTool(scopes(...held), 'files', 'read_file', READ),
        allowed('class read', ['tools:read']),
        held.join(),
      );
    }
    for (const held of [
      [],
      ['tools:write'],
      ['other:read'],
      ['other:*'],
      ['resources:read'],
      ['files:write'],
    ]) {
      assert.deepEqual(
        p.decideTool(scopes(...held), 'files', 'read_file', READ),
        {
          allowed: false,
          missing: [['tools:read', 'files:read']],
          required: ['tools:read'],
          rule: 'class read',
        },
        held.join(),
      );
    }
  });

  it('write needs tools:write or <upstream>:write, and not read', () => {
    for (const held of [['tools:write'], ['files:write'], ['files:*'], ['*']]) {
      assert.deepEqual(
        p.decideTool(scopes(...held), 'files', 'create_directory', WRITE),
        allowed('class write', ['tools:write']),
        held.join(),
      );
    }
    assert.deepEqual(p.decideTool(scopes('tools:read', 'files:read'), 'files', 'create_directory', WRITE), {
      allowed: false,
      missing: [['tools:write', 'files:write']],
      required: ['tools:write'],
      rule: 'class write',
    });
  });

  it('destructive needs the write requirement and tools:destructive or <upstream>:destructive', () => {
    for (const held of [
      ['tools:write', 'tools:destructive'],
      ['files:write', 'files:destructive'],
      ['tools:write', 'files:destructive'],
      ['files:*'],
      ['tools:*'],
      ['*'],
    ]) {
      assert.deepEqual(
        p.decideTool(scopes(...held), 'files', 'write_file', DESTRUCTIVE),
        allowed('class destructive', ['tools:write', 'tools:destructive']),
        held.join(),
      );
    }
    assert.deepEqual(p.decideTool(scopes('tools:read', 'tools:write'), 'files', 'write_file', DESTRUCTIVE), {
      allowed: false,
      missing: [['tools:destructive', 'files:destructive']],
      required: ['tools:write', 'tools:destructive'],
      rule: 'class destructive',
    });
    assert.deepEqual(p.decideTool(scopes('tools:destructive'), 'files', 'write_file', DESTRUCTIVE), {
      allowed: false,
      missing: [['tools:write', 'files:write']],
      required: ['tools:write', 'tools:destructive'],
      rule: 'class destructive',
    });
    assert.deepEqual(p.decideTool(scopes('other:*'), 'files', 'write_file', DESTRUCTIVE), {
      allowed: false,
      missing: [
        ['tools:write', 'files:write'],
        ['tools:destructive', 'files:destructive'],
      ],
      required: ['tools:write', 'tools:destructive'],
      rule: 'class destructive',
    });
  });

  it('denies a tool the upstream does not list, whatever the scopes', () => {
    for (const held of [['*'], ['files:*'], []]) {
      assert.deepEqual(p.decideTool(scopes(...held), 'files', 'nope', undefined), {
        allowed: false,
        missing: [],
        required: [],
        rule: 'unknown tool',
      });
    }
  });

  it('read-only mode denies every tool that is not read, even to *, and lets read tools through', () => {
    const ro = policy({ readOnly: true, tools: { 'files.write_file': { readOnly: true } } });
    assert.equal(ro.readOnly, true);
    const deniedRO = { allowed: false, missing: [], required: [], rule: 'readOnly' };
    assert.deepEqual(ro.decideTool(scopes('*'), 'files', 'create_directory', WRITE), deniedRO);
    assert.deepEqual(ro.decideTool(scopes('*'), 'files', 'move_file', tool('move_file', {})), deniedRO);
    assert.deepEqual(
      ro.decideTool(scopes('*'), 'files', 'read_file', READ),
      allowed('class read', ['tools:read']),
    );
    // declared read-only by the config: passes
    assert.deepEqual(
      ro.decideTool(scopes('tools:read'), 'files', 'write_file', DESTRUCTIVE),
      allowed('class read', ['tools:read']),
    );
    // read tools still need their scope in read-only mode
    assert.deepEqual(ro.decideTool(scopes(), 'files', 'read_file', READ), {
      allowed: false,
      missing: [['tools:read', 'files:read']],
      required: ['tools:read'],
      rule: 'class read',
    });
    // unknown before read-only
    assert.equal(ro.decideTool(scopes('*'), 'files', 'nope', undefined).rule, 'unknown tool');
    assert.equal(policy().readOnly, false);
  });
});

describe('Policy rules', () => {
  const p = policy({
    rules: [
      { tools: ['files.write_*'], require: ['files:admin'] },
      { tools: ['*.read_media_file'], upstreams: ['files'], require: ['media:read', 'media:view'] },
      { resources: ['secret://*'], require: ['secret:read'] },
      { prompts: ['files.danger*'], require: ['prompts:danger'] },
      { tools: ['*'], upstreams: ['other'], require: ['other:approved'] },
      {
        tools: ['files.read_file'],
        resources: ['files.read_file'],
        prompts: ['files.read_file'],
        require: ['both'],
      },
    ],
  });

  it('a matching tool rule adds its scope to the class requirement, numbered in the decision', () => {
    assert.deepEqual(
      p.decideTool(scopes('tools:write', 'tools:destructive'), 'files', 'write_file', DESTRUCTIVE),
      {
        allowed: false,
        missing: [['files:admin']],
        required: ['tools:write', 'tools:destructive', 'files:admin'],
        rule: 'class destructive + rule 1',
      },
    );
    assert.deepEqual(
      p.decideTool(
        scopes('tools:write', 'tools:destructive', 'files:admin'),
        'files',
        'write_file',
        DESTRUCTIVE,
      ),
      allowed('class destructive + rule 1', ['tools:write', 'tools:destructive', 'files:admin']),
    );
    // files:* holds files:admin as well
    assert.equal(p.decideTool(scopes('files:*'), 'files', 'write_file', DESTRUCTIVE).allowed, true);
    // nothing matches: class only
    assert.deepEqual(
      p.decideTool(scopes('tools:read'), 'files', 'list_directory', READ),
      allowed('class read', ['tools:read']),
    );
  });

  it('each scope a rule requires is a separate requirement; only the unmet ones are missing', () => {
    const media = tool('read_media_file', { readOnlyHint: true });
    assert.deepEqual(p.decideTool(scopes('tools:read', 'media:view'), 'files', 'read_media_file', media), {
      allowed: false,
      missing: [['media:read']],
      required: ['tools:read', 'media:read', 'media:view'],
      rule: 'class read + rule 2',
    });
    assert.deepEqual(p.decideTool(scopes(), 'files', 'read_media_file', media), {
      allowed: false,
      missing: [['tools:read', 'files:read'], ['media:read'], ['media:view']],
      required: ['tools:read', 'media:read', 'media:view'],
      rule: 'class read + rule 2',
    });
    assert.equal(
      p.decideTool(scopes('tools:read', 'media:*'), 'files', 'read_media_file', media).allowed,
      true,
    );
  });

  it('a rule with upstreams applies only there, whatever its pattern matches', () => {
    const media = tool('read_media_file', { readOnlyHint: true });
    // rule 2 is limited to files; on another upstream (named in rule 5 instead) only rule 5 applies
    assert.deepEqual(
      p.decideTool(scopes('tools:read'), 'third', 'read_media_file', media),
      allowed('class read', ['tools:read']),
    );
    assert.deepEqual(p.decideTool(scopes('tools:read'), 'other', 'read_media_file', media), {
      allowed: false,
      missing: [['other:approved']],
      required: ['tools:read', 'other:approved'],
      rule: 'class read + rule 5',
    });
    // rule 1 names files.* in its pattern and no upstreams: it never matches other.write_file
    assert.deepEqual(
      p.decideTool(
        scopes('tools:write', 'tools:destructive', 'other:approved'),
        'other',
        'write_file',
        DESTRUCTIVE,
      ),
      allowed('class destructive + rule 5', ['tools:write', 'tools:destructive', 'other:approved']),
    );
  });

  it('several matching rules all apply', () => {
    const twoRules = policy({
      rules: [
        { tools: ['files.*'], require: ['a'] },
        { tools: ['x.*'], require: ['b'] },
        { tools: ['*.read_file'], require: ['c'] },
      ],
    });
    assert.deepEqual(twoRules.decideTool(scopes('tools:read', 'c'), 'files', 'read_file', READ), {
      allowed: false,
      missing: [['a']],
      required: ['tools:read', 'a', 'c'],
      rule: 'class read + rule 1 + rule 3',
    });
  });

  it('resource rules match the URI; tool and prompt patterns never match resources', () => {
    assert.deepEqual(p.decideResource(scopes('resources:read'), 'files', 'secret://vault/key'), {
      allowed: false,
      missing: [['secret:read']],
      required: ['resources:read', 'secret:read'],
      rule: 'resources + rule 3',
    });
    assert.deepEqual(
      p.decideResource(scopes('files:read', 'secret:read'), 'files', 'secret://vault/key'),
      allowed('resources + rule 3', ['resources:read', 'secret:read']),
    );
    assert.deepEqual(
      p.decideResource(scopes('resources:read'), 'files', 'file:///tmp/a'),
      allowed('resources', ['resources:read']),
    );
    assert.deepEqual(p.decideResource(scopes('tools:read'), 'files', 'file:///tmp/a'), {
      allowed: false,
      missing: [['resources:read', 'files:read']],
      required: ['resources:read'],
      rule: 'resources',
    });
    // rule 6 lists the same string as a resource pattern: it matches the URI 'files.read_file' only
    assert.equal(
      p.decideResource(scopes('resources:read'), 'files', 'files.read_file').rule,
      'resources + rule 6',
    );
    assert.equal(p.decideResource(scopes('resources:read'), 'files', 'read_file').rule, 'resources');
    // rule 5 (tools: ['*'], upstreams: other) has no resource patterns
    assert.equal(p.decideResource(scopes('resources:read'), 'other', 'anything').allowed, true);
  });

  it('prompt rules match <upstream>.<prompt>', () => {
    assert.deepEqual(p.decidePrompt(scopes('prompts:read'), 'files', 'danger-zone'), {
      allowed: false,
      missing: [['prompts:danger']],
      required: ['prompts:read', 'prompts:danger'],
      rule: 'prompts + rule 4',
    });
    assert.deepEqual(
      p.decidePrompt(scopes('prompts:read'), 'other', 'danger-zone'),
      allowed('prompts', ['prompts:read']),
    );
    assert.deepEqual(
      p.decidePrompt(scopes('files:read'), 'files', 'safe'),
      allowed('prompts', ['prompts:read']),
    );
    assert.deepEqual(p.decidePrompt(scopes('resources:read'), 'files', 'safe'), {
      allowed: false,
      missing: [['prompts:read', 'files:read']],
      required: ['prompts:read'],
      rule: 'prompts',
    });
    assert.equal(
      p.decidePrompt(scopes('prompts:read', 'both'), 'files', 'read_file').rule,
      'prompts + rule 6',
    );
  });

  it('rule scopes are held by wildcards like any other', () => {
    assert.equal(p.decideResource(scopes('resources:read', 'secret:*'), 'files', 'secret://x').allowed, true);
    assert.equal(p.decideResource(scopes('*'), 'files', 'secret://x').allowed, true);
    assert.equal(p.decideResource(scopes('resources:read', 'files:*'), 'files', 'secret://x').allowed, false);
  });

  it('the schema refuses a rule without patterns or without required scopes', () => {
    assert.equal(policySchema.safeParse({ rules: [{ require: ['x'] }] }).success, false);
    assert.equal(policySchema.safeParse({ rules: [{ tools: ['a.b'], require: [] }] }).success, false);
    assert.equal(policySchema.safeParse({ rules: [{ tools: [], require: ['x'] }] }).success, false);
    assert.equal(
      policySchema.safeParse({ rules: [{ tools: ['a.b'], require: ['x'], extra: 1 }] }).success,
      false,
    );
  });

  it('unusedRules: rules applying to an upstream whose patterns match nothing it offers', () => {
    const offer = {
      tools: ['write_file', 'read_file'],
      resources: ['file:///a'],
      prompts: ['danger-zone'],
    };
    // rule 2 (read_media_file) matches nothing here; rule 5 is for upstream other only
    assert.deepEqual(p.unusedRules('files', offer), [2, 3]);
    assert.deepEqual(
      p.unusedRules('files', {
        ...offer,
        resources: ['secret://k'],
        tools: [...offer.tools, 'read_media_file'],
      }),
      [],
    );
    assert.deepEqual(p.unusedRules('other', { tools: ['x'], resources: [], prompts: [] }), [1, 3, 4, 6]);
  });
});

describe('Gatekeeper', () => {
  const TOOLS = [
    { name: 'read_file', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
    { name: 'write_file', inputSchema: { type: 'object' }, annotations: { readOnlyHint: false } },
    { name: 'create_directory', inputSchema: { type: 'object' }, annotations: { destructiveHint: false } },
  ];
  const principal = (kind: Principal['kind'], held: string[]): Principal => ({
    id: kind,
    kind,
    name: kind,
    scopes: held,
  });
  const gatekeeper = (config: unknown = {}) => {
    let lists = 0;
    const catalog = new ToolCatalog(async () => {
      lists++;
      return { tools: TOOLS };
    }, 60_000);
    return { gk: new Gatekeeper({ policy: policy(config), upstream: 'files', catalog }), lists: () => lists };
  };
  const call = (name: string): JsonRpcRequest => ({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name },
  });
  const META = 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp';

  it('filters every list with the same decision and keeps the cursor and other fields', () => {
    const { gk } = gatekeeper({ rules: [{ resources: ['secret://*'], require: ['secret:read'] }] });
    const viewer = principal('api-key', ['tools:read', 'resources:read', 'prompts:read']);
    assert.deepEqual(
      gk.filter('tools/list', { tools: [...TOOLS, null, 7, { noName: true }], nextCursor: 'c2' }, viewer),
      {
        tools: [TOOLS[0]],
        nextCursor: 'c2',
      },
    );
    assert.deepEqual(
      gk.filter(
        'resources/list',
        {
          resources: [{ uri: 'file:///a' }, { uri: 'secret://b' }, { uri: 3 }],
          nextCursor: 'r',
          _meta: { x: 1 },
        },
        viewer,
      ),
      { resources: [{ uri: 'file:///a' }], nextCursor: 'r', _meta: { x: 1 } },
    );
    assert.deepEqual(
      gk.filter(
        'resources/templates/list',
        { resourceTemplates: [{ uriTemplate: 'secret://{id}' }, { uriTemplate: 'f://{id}' }] },
        viewer,
      ),
      { resourceTemplates: [{ uriTemplate: 'f://{id}' }] },
    );
    assert.deepEqual(
      gk.filter('prompts/list', { prompts: [{ name: 'p' }] }, principal('api-key', ['tools:read'])),
      {
        prompts: [],
      },
    );
    // a call's result is screened for resources (test/unit/result-filter.test.ts): one without any is unchanged
    const other = { content: [{ type: 'text', text: 'x' }] };
    assert.deepEqual(gk.filter('tools/call', other, viewer), other);
    const noList = { nextCursor: 'x' };
    assert.equal(gk.filter('tools/list', noList, viewer), noList);
  });

  it('refuses with the scopes named; a step-up challenge only for OAuth and JWT principals', async () => {
    const { gk } = gatekeeper();
    for (const kind of ['api-key', 'basic', 'anonymous', 'jwt', 'oauth'] as const) {
      const refusal = await gk.refusal(
        call('write_file'),
        principal(kind, ['tools:read', 'tools:write']),
        META,
      );
      assert.ok(refusal, kind);
      assert.equal(refusal.status, 403);
      assert.equal(refusal.code, 'insufficient_scope');
      assert.equal(refusal.rpcCode, FORBIDDEN);
      assert.equal(
        refusal.message,
        "tool 'write_file' needs the scope tools:destructive or files:destructive, which this caller does not have",
      );
      assert.deepEqual(refusal.data, {
        requiredScopes: ['tools:write', 'tools:destructive'],
        missingScopes: [['tools:destructive', 'files:destructive']],
      });
      assert.equal(canStepUp(principal(kind, [])), kind === 'jwt' || kind === 'oauth');
      assert.deepEqual(
        refusal.headers,
        canStepUp(principal(kind, []))
          ? {
              'www-authenticate': `Bearer error="insufficient_scope", scope="tools:write tools:destructive", resource_metadata="${META}"`,
            }
          : {},
      );
    }
    assert.equal(
      await gk.refusal(call('create_directory'), principal('jwt', ['tools:write']), META),
      undefined,
    );
    // methods the policy does not govern pass
    assert.equal(
      await gk.refusal({ jsonrpc: '2.0', id: 2, method: 'ping' }, principal('api-key', []), META),
      undefined,
    );
  });

  it('refuses unknown tools and, in read-only mode, write tools, as forbidden with no challenge', async () => {
    const { gk } = gatekeeper({ readOnly: true });
    const unknown = await gk.refusal(call('nope'), principal('jwt', ['*']), META);
    assert.equal(unknown?.code, 'unknown_tool');
    assert.equal(unknown?.rpcCode, -32602, 'as the specification has servers answer an unknown tool');
    assert.equal(unknown?.message, "tool 'nope' is refused: upstream 'files' does not offer that tool");
    assert.deepEqual(unknown?.headers, {});
    const ro = await gk.refusal(call('create_directory'), principal('jwt', ['*']), META);
    assert.equal(ro?.code, 'forbidden');
    assert.equal(ro?.rpcCode, FORBIDDEN);
    assert.equal(
      ro?.message,
      "tool 'create_directory' is refused: it is not read-only and this gateway serves 'files' read-only",
    );
    assert.deepEqual(ro?.headers, {});
    assert.equal(await gk.refusal(call('read_file'), principal('jwt', ['tools:read']), META), undefined);
  });

  it('decides resources/read, subscribe, prompts/get and completions', async () => {
    const { gk } = gatekeeper({
      rules: [
        { resources: ['secret://*'], require: ['secret:read'] },
        { prompts: ['files.hidden'], require: ['p:x'] },
      ],
    });
    const viewer = principal('api-key', ['resources:read', 'prompts:read']);
    const req = (method: string, params: Record<string, unknown>): JsonRpcRequest => ({
      jsonrpc: '2.0',
      id: 3,
      method,
      params,
    });
    for (const method of ['resources/read', 'resources/subscribe', 'resources/unsubscribe']) {
      assert.equal(
        (await gk.refusal(req(method, { uri: 'secret://a' }), viewer, META))?.message,
        "resource 'secret://a' needs the scope secret:read, which this caller does not have",
        method,
      );
      assert.equal(await gk.refusal(req(method, { uri: 'file:///a' }), viewer, META), undefined, method);
    }
    assert.equal(
      (await gk.refusal(req('prompts/get', { name: 'hidden' }), viewer, META))?.message,
      "prompt 'hidden' needs the scope p:x, which this caller does not have",
    );
    assert.equal(await gk.refusal(req('prompts/get', { name: 'open' }), viewer, META), undefined);
    assert.equal(
      (
        await gk.refusal(
          req('completion/complete', { ref: { type: 'ref/prompt', name: 'hidden' } }),
          viewer,
          META,
        )
      )?.message,
      'this completion needs the scope p:x, which this caller does not have',
    );
    assert.equal(
      (
        await gk.refusal(
          req('completion/complete', { ref: { type: 'ref/resource', uri: 'secret://{id}' } }),
          viewer,
          META,
        )
      )?.message,
      'this completion needs the scope secret:read, which this caller does not have',
    );
    assert.equal(gk.mayRead('secret://a', viewer), false);
    assert.equal(gk.mayRead('file:///a', viewer), true);
    assert.equal(gk.mayRead('secret://a', principal('api-key', ['resources:read', 'secret:read'])), true);
  });

  it('knows tools from the upstream’s list, fetched once while fresh', async () => {
    const { gk, lists } = gatekeeper();
    const reader = principal('api-key', ['tools:read']);
    assert.equal(await gk.refusal(call('read_file'), reader, META), undefined);
    assert.equal(await gk.refusal(call('read_file'), reader, META), undefined);
    assert.equal(lists(), 1);
    gk.catalog.invalidate();
    assert.equal(await gk.refusal(call('read_file'), reader, META), undefined);
    assert.equal(lists(), 2);
  });
});
