/**
 * Re-renders the chart from a results file, e.g. after changing bench/chart.ts:
 *   node --import tsx bench/render-chart.ts [bench/results/latest.json] [bench/results/latest.png]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderPng } from './chart.js';
import type { Results } from './report.js';

const input = process.argv[2] ?? 'bench/results/latest.json';
const output = process.argv[3] ?? input.replace(/\.json$/, '.png');
const results = JSON.parse(readFileSync(input, 'utf8')) as Results;
writeFileSync(output, await renderPng(results));
process.stdout.write(`wrote ${output}\n`);
