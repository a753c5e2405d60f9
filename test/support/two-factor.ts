// Two-factor for a test's signed-in person: codes from the test's own clock, and enrolment.
import { expect } from 'vitest';
import { base32Decode, totpCode } from '../../src/crypto/totp.ts';
import type { ConsoleSession } from './console.ts';

/** A code of `secret` for `offsetSteps` 30-second steps from now. */
export const codeOf = (secret: string, offsetSteps = 0) => totpCode(base32Decode(secret)!, Date.now() + offsetSteps * 30_000);

/** Turns two-factor on for the signed-in person with a code of the previous step; returns the secret and recovery codes. */
export async function enrol(session: ConsoleSession): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await session.send({ path: '/console/api/two-factor/enrolment', json: {} });
  expect(started.status).toBe(201);
  const secret: string = started.body.enrolment.secret;
  const confirmed = await session.send({ path: '/console/api/two-factor/enrolment/confirm', json: { code: codeOf(secret, -1) } });
  expect(confirmed.status).toBe(200);
  return { secret, recoveryCodes: confirmed.body.recovery_codes };
}
