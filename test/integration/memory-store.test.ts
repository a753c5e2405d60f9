// The embedded default's in-memory token store behind the real HTTP routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('token flow on the in-memory token store', () => {
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
  });
  afterAll(() => keygate?.close());

  it('issues, introspects, revokes and drops tokens like the Redis store', async () => {
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId);
    const introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    const first = (await keygate.token(key)).body.access_token;
    const second = (await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: key.client_secret } })).body.data.token;
    expect((await keygate.introspect(introspector, first)).body).toMatchObject({ active: true, client_id: key.key.client_id });
    expect((await keygate.introspect(introspector, second)).body.active).toBe(true);
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', { keyId: null, userId: null, via: 'test' });
    expect((await keygate.introspect(introspector, first)).body).toEqual({ active: false });
    expect(await keygate.runtime.tokens.find('anything')).toBeUndefined();
    expect(keygate.runtime.tokens.kind).toBe('memory');
  });
});
