// A skipped test is a failed run here: every suite must run on every machine (the test set-up
// installs or starts what it needs, or stops at once saying how to get it). `npm test` adds this
// reporter; a filtered run while developing (`vitest run -t …`) does not.
import type { Reporter, TestCase } from 'vitest/node';

export default class NoSkipsReporter implements Reporter {
  private readonly skipped: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    if (testCase.result().state === 'skipped') this.skipped.push(`${testCase.module.moduleId}: ${testCase.fullName}`);
  }

  onTestRunEnd(): void {
    if (this.skipped.length === 0) return;
    process.stderr.write(
      `\n${this.skipped.length} test(s) skipped, and a skipped test fails the run:\n${this.skipped.map((name) => `  ${name}`).join('\n')}\n`,
    );
    process.exitCode = 1;
  }
}
