// Rotation with grace: during grace both secrets work; after it the old secret is
// refused and the tokens it minted are inactive; the new secret works throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { CreatedKey } from '../../src/keys/types.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admin API: rotation', () => {
  let keygate: TestKeygate;
  let admin: AdminClient;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    const tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId);
    introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const newKey = async (): Promise<CreatedKey> => (await admin.post('/keys', { name: 'rotating', scopes: ['devices:read'] })).body;
  const withSecret = (key: CreatedKey, secret: string) => ({ ...key, client_secret: secret });
  const isActive = async (token: string) => (await keygate.introspect(introspector, token)).body.active as boolean;

  it('keeps both secrets during grace, then only the new one, and ends the old secret’s tokens', async () => {
    const key = await newKey();
    const oldSecret = key.client_secret;
    const tokenBefore = (await keygate.token(key)).body.access_token;

    const rotated = await admin.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 2 });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.client_secret;
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.body.api_key).toBe(`${key.key.client_id}.${newSecret}`);
    expect(rotated.body.key_file.client_secret).toBe(newSecret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(1000);

    // During grace: both secrets mint tokens; every token so far is active.
    const tokenOldDuringGrace = (await keygate.token(withSecret(key, oldSecret))).body.access_token;
    const tokenNew = (await keygate.token(withSecret(key, newSecret))).body.access_token;
    expect(tokenOldDuringGrace).toEqual(expect.any(String));
    for (const token of [tokenBefore, tokenOldDuringGrace, tokenNew]) expect(await isActive(token)).toBe(true);
    expect((await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: oldSecret } })).status).toBe(200);

    await sleep(2500);

    // After grace: the old secret is refused on every route, its tokens are inactive.
    const refused = await keygate.token(withSecret(key, oldSecret));
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect((await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: oldSecret } })).status).toBe(401);
    expect(await isActive(tokenBefore)).toBe(false);
    expect(await isActive(tokenOldDuringGrace)).toBe(false);
    // The new secret and its tokens work throughout.
    expect(await isActive(tokenNew)).toBe(true);
    expect((await keygate.token(withSecret(key, newSecret))).status).toBe(200);
  });

  it('with grace 0 refuses the old secret and drops its tokens at once', async () => {
    const key = await newKey();
    const tokenBefore = (await keygate.token(key)).body.access_token;
    const rotated = await admin.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 0 });
    expect(rotated.body.previous_secret_expires_at).toBeNull();
    expect(await isActive(tokenBefore)).toBe(false);
    expect((await keygate.token(key)).status).toBe(401);
    expect((await keygate.token(withSecret(key, rotated.body.client_secret))).status).toBe(200);
  });

  it('refuses a grace period over 7 days or a missing one', async () => {
    const key = await newKey();
    const tooLong = await admin.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 604_801 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toEqual(
      errorBody(tooLong, 'validation_failed', 'request body is invalid', [{ field: 'grace_seconds', message: 'Too big: expected number to be <=604800' }]),
    );
    const missing = await admin.post(`/keys/${key.key.client_id}/rotate`, {});
    expect(missing.body.error.details).toEqual([{ field: 'grace_seconds', message: 'Invalid input: expected number, received undefined' }]);
    expect((await keygate.token(key)).status).toBe(200);
  });
});
