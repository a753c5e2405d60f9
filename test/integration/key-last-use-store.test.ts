// The key store's last-use writes against real Postgres: every key has its last-use row from
// creation, a usage batch writes only news (never an older sighting over a newer one, never the
// same address again within the window), two batches at once do not deadlock and the newest
// sighting wins, a key's row goes with the key, and a recorder closed mid-flush writes all of it.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { createUsageRecorder } from '../../src/keys/usage.ts';
import { createLogger } from '../../src/logger.ts';
import { connectDatabase } from '../../src/stores/db.ts';
import type { KeyUsage } from '../../src/stores/key-last-use.ts';
import { createKeyStore } from '../../src/stores/keys.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const MINUTE = 60_000;

describe('key store: last use', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  const record = (sightings: KeyUsage[], unchangedWithinMs = MINUTE) => keygate.runtime.keys.recordUsage(sightings, unchangedWithinMs);

  /** The key's last-use row as stored, or undefined when it has none. */
  const row = (clientId: string) =>
    keygate.runtime.db.selectFrom('api_key_last_use').select(['last_used_at', 'last_used_ip']).where('client_id', '=', clientId).executeTakeFirst();

  const newKey = (): Promise<CreatedKey> => keygate.createKey(tenantId, { name: 'last use' });

  it('a new key has its row, never used, and the key store shows it so', async () => {
    const key = await newKey();
    expect(await row(key.key.client_id)).toEqual({ last_used_at: null, last_used_ip: null });
    expect(await keygate.runtime.keys.find(key.key.client_id)).toMatchObject({ last_used_at: null, last_used_ip: null });
  });

  it('a first sighting is written, and find() reads it back', async () => {
    const key = await newKey();
    const at = new Date(Date.now() - 10 * MINUTE);
    await record([{ clientId: key.key.client_id, at, ip: '192.0.2.1' }]);
    expect(await row(key.key.client_id)).toEqual({ last_used_at: at, last_used_ip: '192.0.2.1' });
    expect(await keygate.runtime.keys.find(key.key.client_id)).toMatchObject({ last_used_at: at, last_used_ip: '192.0.2.1' });
  });

  it('an older sighting never overwrites a newer one, from any address', async () => {
    const key = await newKey();
    const at = new Date(Date.now() - 10 * MINUTE);
    await record([{ clientId: key.key.client_id, at, ip: '192.0.2.1' }]);
    await record([{ clientId: key.key.client_id, at: new Date(at.getTime() - 5 * MINUTE), ip: '192.0.2.2' }]);
    await record([{ clientId: key.key.client_id, at: new Date(at.getTime() - 1), ip: '192.0.2.1' }], 0);
    expect(await row(key.key.client_id)).toEqual({ last_used_at: at, last_used_ip: '192.0.2.1' });
  });

  it('reports the sightings left alone behind a use as new or newer from another address, and only those', async () => {
    const [a, b, c] = [await newKey(), await newKey(), await newKey()];
    const at = new Date(Date.now() - 10 * MINUTE);
    expect(
      await record([
        { clientId: a.key.client_id, at, ip: '192.0.2.1' },
        { clientId: b.key.client_id, at, ip: '192.0.2.1' },
        { clientId: c.key.client_id, at, ip: '192.0.2.1' },
      ]),
    ).toEqual([]);
    const earlier = new Date(at.getTime() - 1000);
    const left = await record([
      { clientId: a.key.client_id, at: earlier, ip: '192.0.2.2' }, // older, another address: not on record
      { clientId: b.key.client_id, at: new Date(at.getTime() + 1000), ip: '192.0.2.1' }, // same address, within the window
      { clientId: c.key.client_id, at: new Date(at.getTime() + 1000), ip: '192.0.2.2' }, // newer: written
    ]);
    expect(left).toEqual([a.key.client_id]);
    expect(await row(c.key.client_id)).toEqual({ last_used_at: new Date(at.getTime() + 1000), last_used_ip: '192.0.2.2' });
  });

  it('the same address within the window is left alone; after it, or from a new address, it is written', async () => {
    const key = await newKey();
    const id = key.key.client_id;
    const at = new Date(Date.now() - 10 * MINUTE);
    await record([{ clientId: id, at, ip: '192.0.2.1' }]);

    await record([{ clientId: id, at: new Date(at.getTime() + 30_000), ip: '192.0.2.1' }]);
    expect(await row(id)).toEqual({ last_used_at: at, last_used_ip: '192.0.2.1' });

    const fromElsewhere = new Date(at.getTime() + 40_000);
    await record([{ clientId: id, at: fromElsewhere, ip: '192.0.2.7' }]);
    expect(await row(id)).toEqual({ last_used_at: fromElsewhere, last_used_ip: '192.0.2.7' });

    const aMinuteOn = new Date(fromElsewhere.getTime() + MINUTE);
    await record([{ clientId: id, at: aMinuteOn, ip: '192.0.2.7' }]);
    expect(await row(id)).toEqual({ last_used_at: aMinuteOn, last_used_ip: '192.0.2.7' });
  });

  it('an address becoming unknown is news too', async () => {
    const key = await newKey();
    const at = new Date(Date.now() - 10 * MINUTE);
    await record([{ clientId: key.key.client_id, at, ip: '192.0.2.1' }]);
    const later = new Date(at.getTime() + 1000);
    await record([{ clientId: key.key.client_id, at: later, ip: null }]);
    expect(await row(key.key.client_id)).toEqual({ last_used_at: later, last_used_ip: null });
  });

  it('two batches over the same keys at once, in opposite orders: both finish, the newer sightings win', async () => {
    const keys = await Promise.all(Array.from({ length: 40 }, () => newKey()));
    const ids = keys.map((key) => key.key.client_id);
    const older = new Date(Date.now() - 20 * MINUTE);
    const newer = new Date(Date.now() - 5 * MINUTE);
    for (let round = 0; round < 5; round++) {
      const at = (i: number) => new Date((i % 2 === round % 2 ? newer : older).getTime() + round);
      const a = ids.map((clientId, i) => ({ clientId, at: at(i), ip: '192.0.2.10' }));
      const b = ids.map((clientId, i) => ({ clientId, at: at(i + 1), ip: '192.0.2.11' })).reverse();
      await Promise.all([record(a, 0), record(b, 0)]);
    }
    const rows = await keygate.runtime.db.selectFrom('api_key_last_use').select(['last_used_at']).where('client_id', 'in', ids).execute();
    expect(rows).toHaveLength(ids.length);
    // Each key's newest sighting of the last round is `newer + 4`; nothing older stayed.
    for (const stored of rows) expect(stored.last_used_at).toEqual(new Date(newer.getTime() + 4));
  });

  it('a deleted key takes its row with it, and a late sighting of it writes nothing and fails nothing', async () => {
    const gone = await newKey();
    const kept = await newKey();
    const at = new Date(Date.now() - MINUTE);
    await record([{ clientId: gone.key.client_id, at, ip: '192.0.2.1' }]);
    expect(await row(gone.key.client_id)).toBeDefined();

    await keygate.runtime.keyService.delete(gone.key.client_id, { keyId: null, userId: null, via: 'test' });
    expect(await row(gone.key.client_id)).toBeUndefined();

    const later = new Date(at.getTime() + 1000);
    await record([
      { clientId: gone.key.client_id, at: later, ip: '192.0.2.1' },
      { clientId: kept.key.client_id, at: later, ip: '192.0.2.1' },
    ]);
    expect(await row(gone.key.client_id)).toBeUndefined();
    expect(await row(kept.key.client_id)).toEqual({ last_used_at: later, last_used_ip: '192.0.2.1' });
  });

  it('changing or rotating a key keeps its last use in what the store returns', async () => {
    const key = await newKey();
    const at = new Date(Date.now() - MINUTE);
    await record([{ clientId: key.key.client_id, at, ip: '192.0.2.3' }]);
    const updated = await keygate.runtime.keys.update(key.key.client_id, { name: 'renamed' });
    expect(updated?.before).toMatchObject({ name: 'last use', last_used_at: at, last_used_ip: '192.0.2.3' });
    expect(updated?.after).toMatchObject({ name: 'renamed', last_used_at: at, last_used_ip: '192.0.2.3' });
    const rotated = await keygate.runtime.keys.rotateSecret(key.key.client_id, 'not-a-real-hash', null);
    expect(rotated).toMatchObject({ secret_generation: 2, last_used_at: at, last_used_ip: '192.0.2.3' });
  });

  it('shutting down while a flush of more than one statement is on its way writes all of it before the database closes', async () => {
    // As the runtime shuts down: close the recorder, then the database it writes to. The flush
    // already on its way is two statements (5,000 keys each), sent one after another.
    const template = await newKey();
    const prefix = `${template.key.client_id}-shutdown-`;
    // 5,001 keys in the flush on its way, and one more that only the shutdown's own flush writes:
    // no row lock ties that flush to the first one, so nothing but waiting for it can keep its
    // second statement from meeting a closed database.
    const ids = Array.from({ length: 5002 }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
    const late = ids.at(-1)!;
    await sql`
      insert into api_keys
      select (jsonb_populate_record(null::api_keys, to_jsonb(k) || jsonb_build_object('client_id', ${prefix} || lpad(g::text, 4, '0')))).*
      from api_keys k, generate_series(0, ${ids.length - 1}) g where k.client_id = ${template.key.client_id}`.execute(keygate.runtime.db);
    const db = connectDatabase(inject('databaseUrl')!, 2);
    const recorder = createUsageRecorder(createKeyStore(db), createLogger('silent'), { intervalMs: 3_600_000 });
    try {
      for (const clientId of ids.slice(0, -1)) recorder.seen(clientId, '192.0.2.7');
      const onItsWay = recorder.flush();
      recorder.seen(late, '192.0.2.8');
      await recorder.close();
      await db.destroy();
      await onItsWay;
      const rows = await keygate.runtime.db
        .selectFrom('api_key_last_use')
        .select(['client_id', 'last_used_ip'])
        .where('client_id', 'like', `${prefix}%`)
        .orderBy('client_id')
        .execute();
      expect(rows.map((stored) => [stored.client_id, stored.last_used_ip])).toEqual(
        ids.map((clientId) => [clientId, clientId === late ? '192.0.2.8' : '192.0.2.7']),
      );
    } finally {
      await keygate.runtime.db.deleteFrom('api_keys').where('client_id', 'like', `${prefix}%`).execute();
    }
  });
});
