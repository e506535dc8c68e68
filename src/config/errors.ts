/** Config errors name the field path and the fix: `config: upstreams.files.command is missing — …`. */
export interface ConfigProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const path = problem.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
  // A value quoted in the message may hold a newline: escaped, so each problem stays one line.
  const message = problem.message.replace(/[\r\n]/g, (c) => JSON.stringify(c).slice(1, -1));
  return path ? `config: ${path} ${message}` : `config: ${message}`;
}
