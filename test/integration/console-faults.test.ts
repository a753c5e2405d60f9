// The console's sessions live in Redis: while Redis is down, signing in and every session-carried
// request answer 503 (never a 500, never a session let through unchecked), and once Redis is back
// the same process signs people in again. Redis keeps no data across the restart, so the sessions
// opened before the outage are gone: their cookies get 401.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/identity/passwords.ts';
import type { User } from '../../src/stores/users.ts';
import { FAULT_ISSUER, pollUntil, startFaultKeygate, startOwnRedis, type FaultKeygate, type OwnRedis } from '../support/faults.ts';

const PASSWORD = 'outage-proof-passphrase';

describe('fault: Redis under console sessions', () => {
  let redis: OwnRedis;
  let keygate: FaultKeygate;
  let user: User;
  let cookie: string;

  const signIn = () => keygate.send({ path: '/console/api/session', headers: { origin: FAULT_ISSUER }, json: { email: user.email, password: PASSWORD } });
  const showSession = (value: string) => keygate.send({ method: 'GET', path: '/console/api/session', headers: { cookie: `keygate_session=${value}` } });

  beforeAll(async () => {
    redis = await startOwnRedis(inject('redisServerPath')!);
    keygate = await startFaultKeygate({ databaseUrl: inject('databaseUrl'), redisUrl: redis.url });
    const tenantId = (await keygate.runtime.tenants.insert({ name: 'console fault tenant' })).id;
    user = (await keygate.runtime.users.insert({ tenantId, email: `console-fault-${process.pid}@example.test`, role: 'admin' }))!;
    await keygate.runtime.users.setPasswordHash(user.id, await hashPassword(PASSWORD));
    const signedIn = await signIn();
    expect(signedIn.status).toBe(200);
    cookie = /^keygate_session=([^;]+)/.exec(signedIn.headers['set-cookie']![0]!)![1]!;
  });
  afterAll(async () => {
    await keygate?.close();
    await redis?.stop('SIGTERM');
  });

  it('answers 503 while Redis is down, then signs in again once it is back', async () => {
    await redis.stop('SIGKILL');
    const during = [
      await showSession(cookie),
      await signIn(),
      await keygate.send({ method: 'GET', path: '/admin/v1/keys', headers: { cookie: `keygate_session=${cookie}` } }),
    ];
    for (const response of during) {
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('service_unavailable');
    }
    expect(keygate.unhandledErrors()).toEqual([]);

    await redis.start();
    await pollUntil(signIn, (response) => response.status === 200, 10_000, 'sign-in after Redis restart');
    expect((await showSession(cookie)).status).toBe(401);
  });
});
