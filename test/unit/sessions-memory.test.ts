// The embedded session store: each record ends at its own time, and a copy handed out never
// changes the stored one.
import { describe, expect, it } from 'vitest';
import { createMemorySessionStore } from '../../src/stores/sessions-memory.ts';

const record = { userId: 'u1', csrfToken: 'c', createdAt: 0, lastSeenAt: 0, passwordStamp: 's' };

describe('memory session store', () => {
  it('keeps a record until its end, then forgets it; destroy forgets at once', async () => {
    let now = 1_000;
    const store = createMemorySessionStore(() => now);
    await store.save('a', record, 2_000);
    await store.save('b', record, 5_000);
    await store.save('past', record, 500);
    expect(await store.find('a')).toEqual(record);
    expect(await store.find('past')).toBeUndefined();
    now = 2_000;
    expect(await store.find('a')).toBeUndefined();
    expect(await store.find('b')).toEqual(record);
    await store.destroy('b');
    expect(await store.find('b')).toBeUndefined();
  });

  it('hands out copies', async () => {
    const store = createMemorySessionStore(() => 0);
    await store.save('a', record, 10);
    const found = (await store.find('a'))!;
    found.userId = 'someone else';
    expect((await store.find('a'))!.userId).toBe('u1');
  });

  it('refreshes only a record that still exists: a destroyed session is not written back', async () => {
    const store = createMemorySessionStore(() => 0);
    await store.save('a', record, 10);
    expect(await store.refresh('a', { ...record, lastSeenAt: 5 }, 20)).toBe(true);
    expect((await store.find('a'))!.lastSeenAt).toBe(5);
    await store.destroy('a');
    expect(await store.refresh('a', record, 20)).toBe(false);
    expect(await store.find('a')).toBeUndefined();
  });
});
