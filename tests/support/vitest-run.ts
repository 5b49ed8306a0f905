/**
 * A user's test run, for the vitest entry's tests: vitest in a child process on a fixture config,
 * its JSON report read back as one list of test results.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export interface TestResult {
  readonly title: string;
  /** The titles of the `describe` blocks around it, outermost first. */
  readonly ancestorTitles: string[];
  readonly status: string;
  readonly failureMessages: string[];
}

/** Runs vitest with `config` (failing tests are expected: their report is what is read). */
export async function runVitest(config: string): Promise<TestResult[]> {
  const vitest = resolve('node_modules/vitest/vitest.mjs');
  const run = await promisify(execFile)(
    process.execPath,
    [vitest, 'run', '--config', config, '--reporter=json'],
    {
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  ).then(
    (r) => r.stdout,
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  const report = JSON.parse(run.slice(run.indexOf('{'))) as {
    testResults: { assertionResults: TestResult[] }[];
  };
  return report.testResults.flatMap((file) => file.assertionResults);
}
