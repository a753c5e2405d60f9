// The hot routes bypass Koa. Every Koa middleware must be accounted for in the front door's
// contract, so one added later cannot silently skip token issuance and introspection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { HOT_ROUTE_CONTRACT } from '../../src/http/front-door.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('front door contract', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
  });
  afterAll(() => keygate?.close());

  it('lists exactly the app’s Koa middleware, in order', () => {
    const middleware = createApp({ ...keygate.runtime, log: keygate.runtime.log }).koa.middleware.map((fn) => fn.name);
    expect(middleware).toEqual(Object.keys(HOT_ROUTE_CONTRACT));
  });

  it('gives a hot route what the request-scope and access-log middleware give the others: a request id', async () => {
    const hot = await keygate.send({ path: '/oauth/introspect', form: { token: 'x' } });
    const cold = await keygate.send({ method: 'GET', path: '/healthz' });
    expect(hot.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(cold.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
