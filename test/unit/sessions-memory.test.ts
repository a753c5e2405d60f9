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

  it('indexes each user’s sessions, and the index sheds expired, ended and evicted entries', async () => {
    let now = 0;
    const store = createMemorySessionStore(() => now);
    await store.save('a', record, 100);
    await store.save('b', record, 300);
    await store.save('c', { ...record, userId: 'u2' }, 300);
    expect((await store.listForUser('u1')).map((s) => s.idHash).sort()).toEqual(['a', 'b']);
    now = 150;
    expect((await store.listForUser('u1')).map((s) => s.idHash)).toEqual(['b']);
    await store.destroy('b');
    expect(await store.listForUser('u1')).toEqual([]);
    expect((await store.listForUser('u2')).map((s) => s.idHash)).toEqual(['c']);
    // Many short sessions of one user over time: the index holds only the live ones.
    for (let i = 0; i < 1000; i++) {
      now = 1_000 + i * 10;
      await store.save(`s${i}`, record, now + 15);
    }
    expect((await store.listForUser('u1')).length).toBeLessThanOrEqual(2);
  });
});
