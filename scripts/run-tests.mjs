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
// A hung test fails after five minutes, and a file whose tests have all ended is not left waiting on
// a handle a failed test left open: the run reports the failure instead of hanging.
const run = (args) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-timeout=300000', '--test-force-exit', ...args],
    { stdio: 'inherit', env },
  ).status;

// `node scripts/run-tests.mjs test/e2e/x.test.ts …` runs only those files, provisioned the same way;
// the leak check needs the whole suite's capture (it refuses a small one), so it is left out.
const chosen = process.argv.slice(2);
if (chosen.length > 0) {
  const status = run(chosen);
  rmSync(capture, { recursive: true, force: true });
  process.stderr.write(
    'run-tests: only the named files ran; the suite-wide leak check needs the whole suite\n',
  );
  process.exit(status === 0 ? 0 : 1);
}
const suite = run(['--test-concurrency=2', ...files('test/unit'), ...files('test/e2e')]);
const leaks = run(['test/after/no-secrets.test.ts']);
// A leak is easier to chase with the capture at hand.
if (leaks === 0) rmSync(capture, { recursive: true, force: true });
else process.stderr.write(`the captured log lines and secrets are kept in ${capture}\n`);
process.exit(suite === 0 && leaks === 0 ? 0 : 1);
