/** Reads portcullis.yaml: YAML → `${…}` references → zod schema, with one message per problem. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { nearest } from '../core/nearest.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { type Config, configSchema } from './schema.js';
import { interpolate } from './secrets.js';

export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the file, or undefined when loaded from text in tests. */
  readonly file: string | undefined;
  /** The directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  /** Values filled from ${env:…}/${file:…}: masked in every log line. */
  readonly secrets: readonly string[];
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT'
        ? 'create it (see the README for an example) or pass --config FILE'
        : 'check its permissions';
    throw new ConfigError([{ path: [], message: `cannot read ${path} (${code ?? 'error'}) — ${hint}` }]);
  }
  return parseConfig(text, dirname(path), env, path);
}

export function parseConfig(
  text: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
  file?: string,
): LoadedConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: [],
        message: `is not valid YAML: ${e.message.split('\n')[0]} — fix the syntax there`,
      })),
    );
  }
  const tree = doc.toJS() ?? {};
  const { value, secrets } = interpolate(tree, env, baseDir);
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => toProblem(i, value)));
  return { config: parsed.data, file, baseDir, secrets };
}

function toProblem(issue: z.core.$ZodIssue, input: unknown): ConfigProblem {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return {
      path,
      message: issue.keys
        .map((key) => {
          const guess = nearest(key, known);
          const suggestion = guess ? `did you mean ${guess}?` : `known settings here: ${known.join(', ')}`;
          return `has an unknown setting "${key}" — ${suggestion}`;
        })
        .join('; '),
    };
  }
  if (issue.code === 'invalid_key') {
    return { path, message: issue.issues[0]?.message ?? 'is not an accepted name' };
  }
  const zodDefault = issue.message.startsWith('Invalid input');
  if (issue.code === 'invalid_type' && zodDefault) {
    const missing = valueAt(input, path) === undefined;
    return {
      path,
      message: missing
        ? `is missing — add it (${issue.expected} expected)`
        : `must be ${article(issue.expected)}`,
    };
  }
  return { path, message: issue.message };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(tree: unknown, path: readonly (string | number)[]): unknown {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
  options?: { _zod: { def: SchemaDef } }[];
}

/** The setting names the schema accepts at `path`, for "did you mean" hints. */
function knownKeysAt(path: readonly (string | number)[]): string[] {
  let def: SchemaDef | undefined = (configSchema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = (d: SchemaDef | undefined): SchemaDef | undefined => {
    let cur = d;
    while (cur && !cur.shape && cur.type !== 'record') {
      const next = cur.innerType ?? cur.in ?? cur.options?.find((o) => o._zod.def.type !== 'literal');
      cur = next?._zod.def;
    }
    return cur;
  };
  for (const key of path) {
    def = unwrap(def);
    if (!def) return [];
    def = def.type === 'record' ? def.valueType?._zod.def : def.shape?.[String(key)]?._zod.def;
  }
  return Object.keys(unwrap(def)?.shape ?? {});
}
