/**
 * `${env:NAME}` and `${file:PATH}` references, so no secret has to live in the config file.
 * Every value filled this way is recorded as a secret: the logger masks it wherever it appears.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from './errors.js';

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

export interface Interpolated {
  readonly value: unknown;
  /** Every value that came from the environment or a file, longest first. */
  readonly secrets: readonly string[];
}

/** Walks the parsed YAML tree and fills references; `baseDir` anchors relative file paths. */
export function interpolate(tree: unknown, env: NodeJS.ProcessEnv, baseDir: string): Interpolated {
  const secrets = new Set<string>();
  const problems: ConfigProblem[] = [];

  const fill = (text: string, path: readonly (string | number)[]): string =>
    text.replace(REFERENCE, (whole, ref: string | undefined) => {
      if (whole === '$${') return '${';
      const [kind, ...rest] = (ref ?? '').split(':');
      const arg = rest.join(':').trim();
      if (kind === 'env') {
        const value = env[arg];
        if (!arg || value === undefined || value === '') {
          problems.push({
            path,
            message: `environment variable ${arg || '(no name)'} is not set — export it before starting, or use \${file:PATH}`,
          });
          return '';
        }
        secrets.add(value);
        return value;
      }
      if (kind === 'file') {
        const file = resolve(baseDir, arg);
        try {
          const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
          if (value) secrets.add(value);
          return value;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
          problems.push({
            path,
            message: `cannot read secret file ${file} (${code}) — check the path and its permissions`,
          });
          return '';
        }
      }
      problems.push({
        path,
        message: `\${${ref}} is not a known reference — use \${env:NAME} or \${file:PATH} (write $\${ for a literal \${)`,
      });
      return whole;
    });

  // A YAML alias inside its own anchor (`&a [*a]`) decodes to a cycle: refused, not walked forever.
  const ancestors = new Set<object>();
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') return node.includes('${') ? fill(node, path) : node;
    if (node === null || typeof node !== 'object') return node;
    if (ancestors.has(node)) {
      problems.push({
        path,
        message: 'is a YAML alias inside the value it names (*name within &name) — write the value out',
      });
      return null;
    }
    ancestors.add(node);
    try {
      if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, [...path, k])]));
    } finally {
      ancestors.delete(node);
    }
  };

  const value = walk(tree, []);
  if (problems.length > 0) throw new ConfigError(problems);
  return { value, secrets: [...secrets].sort((a, b) => b.length - a.length) };
}
