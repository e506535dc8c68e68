import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRuns } from '../conformance/compare.js';
import type { Check, ScenarioResult, SuiteResult } from '../conformance/suite.js';

function scenario(name: string, checks: Check[]): ScenarioResult {
  const failures = checks.filter((c) => c.status === 'FAILURE');
  return {
    scenario: name,
    passed: checks.filter((c) => c.status === 'SUCCESS').length,
    failed: failures.length,
    warnings: 0,
    failures,
    checks,
  };
}

const run = (...scenarios: ScenarioResult[]): SuiteResult => ({
  ok: scenarios.every((s) => s.failed === 0),
  suiteExitCode: 0,
  scenarios,
  summary: '',
  problems: [],
});

const pass = (id: string, result?: unknown): Check => ({ id, status: 'SUCCESS', details: { result } });
const fail = (id: string, errorMessage: string): Check => ({ id, status: 'FAILURE', errorMessage });
const notFound = {
  isError: true,
  content: [{ type: 'text', text: 'MCP error -32602: Tool test_simple_text not found' }],
};
const refused = "Failed: tool 'test_simple_text' is refused: upstream 'conformance' does not offer that tool";

describe('conformance compare', () => {
  it('reports a scenario that passes directly and fails through the gateway as a regression', () => {
    const c = compareRuns(
      run(scenario('prompts-list', [pass('prompts-list')]), scenario('ping', [pass('ping')])),
      run(
        scenario('prompts-list', [fail('prompts-list', '429 too many sessions')]),
        scenario('ping', [pass('ping')]),
      ),
    );
    assert.deepEqual(c.regressions, ['prompts-list']);
    assert.deepEqual(c.known, []);
  });

  it('reports a scenario missing from the gateway run as a regression', () => {
    const c = compareRuns(run(scenario('ping', [pass('ping')])), run());
    assert.deepEqual(c.regressions, ['ping']);
  });

  it('counts a direct pass on the upstream’s "tool not found" answer, refused by the gateway, as known', () => {
    const c = compareRuns(
      run(
        scenario('tools-call-simple-text', [
          pass('tools-call-simple-text', notFound),
          pass('wire-schema-valid'),
        ]),
      ),
      run(
        scenario('tools-call-simple-text', [
          fail('tools-call-simple-text', refused),
          pass('wire-schema-valid'),
        ]),
      ),
    );
    assert.deepEqual(c.regressions, []);
    assert.deepEqual(
      c.known.map((k) => k.scenario),
      ['tools-call-simple-text'],
    );
  });

  it('keeps it a regression when the gateway fails the scenario for another reason', () => {
    const c = compareRuns(
      run(scenario('tools-call-simple-text', [pass('tools-call-simple-text', notFound)])),
      run(scenario('tools-call-simple-text', [fail('tools-call-simple-text', 'Failed: fetch failed')])),
    );
    assert.deepEqual(c.regressions, ['tools-call-simple-text']);
  });

  it('keeps it a regression when the direct pass was a real tool result', () => {
    const real = { content: [{ type: 'text', text: 'This is a simple text response for testing.' }] };
    const c = compareRuns(
      run(scenario('tools-call-simple-text', [pass('tools-call-simple-text', real)])),
      run(scenario('tools-call-simple-text', [fail('tools-call-simple-text', refused)])),
    );
    assert.deepEqual(c.regressions, ['tools-call-simple-text']);
  });

  it('lists scenarios that pass only through the gateway', () => {
    const c = compareRuns(
      run(scenario('dns-rebinding-protection', [fail('localhost-host-rebinding-rejected', 'got 200')])),
      run(scenario('dns-rebinding-protection', [pass('localhost-host-rebinding-rejected')])),
    );
    assert.deepEqual(c.gains, ['dns-rebinding-protection']);
    assert.deepEqual(c.regressions, []);
  });
});
