// The test suite with a suite-wide leak check: the unit and e2e tests run with a capture directory
// (every test gateway's log lines and audit records, every secret used), then
// test/after/no-secrets.test.ts fails if any secret appears in any of them. First,
// scripts/provision-tests.sh installs what the tests need from the machine (or says which command does).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const provisioned = spawnSync('bash', ['scripts/provision-tests.sh'], { stdio: 'inherit' }).status;
if (provisioned !== 0) process.exit(1);

const capture = mkdtempSync(join(tmpdir(), 'pcl-capture-'));
const env = { ...process.env, PORTCULLIS_CAPTURE_DIR: capture };
const files = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
const run = (args) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', ...args], { stdio: 'inherit', env }).status;

const suite = run(['--test-concurrency=2', ...files('test/unit'), ...files('test/e2e')]);
const leaks = run(['test/after/no-secrets.test.ts']);
// A leak is easier to chase with the capture at hand.
if (leaks === 0) rmSync(capture, { recursive: true, force: true });
else process.stderr.write(`the captured log lines and secrets are kept in ${capture}\n`);
process.exit(suite === 0 && leaks === 0 ? 0 : 1);
