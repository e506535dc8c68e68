/**
 * Puts the latest bench tables into the README's Performance section, between
 * `<!-- bench:latest -->` and `<!-- /bench:latest -->`, from bench/results/latest.json:
 *   node --import tsx bench/update-readme.ts [results.json]
 * Run it after a full `npm run bench`, so the README shows every target from one run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes.js';
import { type Results, readmeSummary } from './report.js';

const BEGIN = '<!-- bench:latest -->';
const END = '<!-- /bench:latest -->';

const resultsFile = process.argv[2] ?? join(ROOT, 'bench/results/latest.json');
const readmeFile = join(ROOT, 'README.md');
const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
const readme = readFileSync(readmeFile, 'utf8');
const begin = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (begin === -1 || end < begin) {
  process.stderr.write(`update-readme: README.md has no ${BEGIN} … ${END} block to fill\n`);
  process.exit(1);
}
writeFileSync(
  readmeFile,
  `${readme.slice(0, begin + BEGIN.length)}\n${readmeSummary(results)}\n${readme.slice(end)}`,
);
process.stdout.write(`update-readme: README.md now shows the run of ${results.date}\n`);
