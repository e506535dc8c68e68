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
  return path ? `config: ${path} ${problem.message}` : `config: ${problem.message}`;
}
