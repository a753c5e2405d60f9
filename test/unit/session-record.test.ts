// The stored session record: the active account is optional, and a record carrying anything but a
// tenant id (or null) there reads as no session at all.
import { describe, expect, it } from 'vitest';
import { decodeSession, encodeSession } from '../../src/stores/sessions.ts';

const record = { userId: 'u1', csrfToken: 'c', createdAt: 1, lastSeenAt: 2, passwordStamp: 's' };

describe('session records', () => {
  it('round-trip with and without an active account', () => {
    expect(decodeSession(encodeSession(record))).toEqual(record);
    expect(decodeSession(encodeSession({ ...record, activeTenantId: null }))).toEqual({ ...record, activeTenantId: null });
    const active = { ...record, activeTenantId: '0b6f3c1e-7d0a-4c55-9a43-5e2f0c1d2e3f' };
    expect(decodeSession(encodeSession(active))).toEqual(active);
  });

  it('read a malformed active account as no session', () => {
    expect(decodeSession(JSON.stringify({ ...record, activeTenantId: 7 }))).toBeUndefined();
    expect(decodeSession(JSON.stringify({ ...record, activeTenantId: ['a'] }))).toBeUndefined();
  });
});
