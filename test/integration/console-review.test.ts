// Attacks on the console found in review: each test sends the attacker's requests over real HTTP
// and states the refusal the console owes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, setPassword, setupTokenFor, signInRequest } from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('console review: sign-in limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', signInFailuresPerAccount: 3, signInFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a burst of parallel wrong passwords is judged no more often than the per-account limit allows', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    expect((await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD)).status).toBe(200);
    // The attacker fires 20 guesses at once from one address instead of one after another.
    const guesses = Array.from({ length: 20 }, (_, i) => signInRequest(keygate, user.email, `wrong-guess-number-${i}`, '127.0.0.77'));
    const answers = await Promise.all(guesses);
    const judged = answers.filter((answer) => answer.status === 401).length;
    // Three failures lock the (email, source) pair: no more than three guesses may be checked.
    expect(judged).toBeLessThanOrEqual(3);
  });
});
