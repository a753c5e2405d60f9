// The audit export at volume, over real HTTP from a `keygate serve` child: 100,000 events seeded
// in one statement, exported as CSV and as JSON Lines; every line counted, newest first, filters
// exact, nothing written after the export began included, and the server's resident memory
// printed before and after (an export streams: it never holds the whole log). A failure after the
// first byte aborts the transfer, which the client sees as incomplete.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Db } from '../../src/stores/db.ts';
import { newDatabase, startConsoleServer, type ConsoleServer } from '../support/browser.ts';
import { parseCsv } from '../support/csv.ts';
import { waitFor } from '../support/processes.ts';

const SEEDED = 100_000;
const MB = 1024 * 1024;
/**
 * The server's old generation is capped at this: an export that held its 100,000 events (well over
 * 100 MB as JavaScript objects) runs out of memory and the server dies; a streamed one fits easily.
 */
const OLD_SPACE_MB = 64;

/** VmRSS and VmHWM (the peak) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

describe('audit export of 100,000 events from a server child process', () => {
  let server: ConsoleServer;
  let db: Db;
  let token: string;
  let tenantId: string;

  beforeAll(async () => {
    const databaseUrl = await newDatabase();
    db = connectDatabase(databaseUrl, 3);
    server = await startConsoleServer({ LOG_LEVEL: 'warn', NODE_OPTIONS: `--max-old-space-size=${OLD_SPACE_MB}` }, databaseUrl);
    const boot = await server.cli('bootstrap', '--admin-email', 'volume-admin@example.test');
    tenantId = boot.tenant_id;
    const issued = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${boot.client_id}:${boot.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=admin%3Aaudit%3Aread',
    });
    token = ((await issued.json()) as { access_token: string }).access_token;
    // Four kinds of event in turn, one second apart, ids and times rising together; every fourth a
    // denial. The details hold what CSV must quote: commas, quotes and a line break.
    await sql`
      insert into audit_events (at, action, outcome, reason, tenant_id, actor_key_id, target_key_id, ip, request_id, details)
      select now() - interval '2 days' + g * interval '1 second',
             (array['key.create', 'key.update', 'token.issue', 'key.disable'])[1 + g % 4],
             case when g % 4 = 2 then 'denied' else 'success' end,
             case when g % 4 = 2 then 'invalid_client' else null end,
             ${tenantId}::uuid, ${boot.client_id}, 'kg_seed' || (g % 50), '10.0.' || (g % 250) || '.1', 'seed-' || g,
             jsonb_build_object('via', 'seed', 'n', g, 'note', 'a, "quoted"' || chr(10) || 'line')
      from generate_series(1, ${SEEDED}) as g`.execute(db);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await db?.destroy();
  });

  const exportUrl = (query: Record<string, string>) => `${server.origin}/admin/v1/audit/export?${new URLSearchParams(query)}`;
  /** A whole export, on a connection of its own, decoded as UTF-8. */
  const download = async (query: Record<string, string>) => {
    const { response, body } = await openExport(query);
    response.resume();
    return { headers: response.headers, text: await body };
  };

  const countWhere = async (where: ReturnType<typeof sql>) =>
    Number((await sql<{ n: string }>`select count(*) as n from audit_events where ${where}`.execute(db)).rows[0]!.n);
  const descending = (ids: bigint[]) => ids.every((id, i) => i === 0 || id < ids[i - 1]!);

  it('exports every event as CSV and as JSON Lines, newest first, while the server holds one batch at a time', { timeout: 300_000 }, async () => {
    const total = await countWhere(sql`true`);
    expect(total).toBeGreaterThanOrEqual(SEEDED);
    const before = memoryOf(server.pid);

    const csv = await download({ format: 'csv' });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="keygate-audit-\d{8}T\d{6}Z\.csv"$/);
    const records = parseCsv(csv.text);
    const [header, ...rows] = records;
    expect(header).toContain('details');
    expect(rows).toHaveLength(total);
    const idColumn = header!.indexOf('id');
    expect(descending(rows.map((row) => BigInt(row[idColumn]!)))).toBe(true);
    const seeded = rows.find((row) => row[header!.indexOf('request_id')] === 'seed-7')!;
    expect(JSON.parse(seeded[header!.indexOf('details')]!)).toEqual({ via: 'seed', n: 7, note: 'a, "quoted"\nline' });
    const afterCsv = memoryOf(server.pid);

    const jsonl = await download({ format: 'jsonl' });
    expect(jsonl.headers['content-type']).toMatch(/^application\/jsonl/);
    expect(jsonl.text.endsWith('\n')).toBe(true);
    const lines = jsonl.text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(total);
    const events = lines.map((line) => JSON.parse(line) as { id: string; action: string; details: Record<string, unknown> });
    expect(descending(events.map((e) => BigInt(e.id)))).toBe(true);
    expect(events.map((e) => e.id)).toEqual(rows.map((row) => row[idColumn]));
    const after = memoryOf(server.pid);

    console.log(
      `audit export of ${total} events: CSV ${(csv.text.length / MB).toFixed(1)} MB, JSONL ${(jsonl.text.length / MB).toFixed(1)} MB; `
        + `server RSS before ${(before.rss / MB).toFixed(1)} MB, after CSV ${(afterCsv.rss / MB).toFixed(1)} MB, after JSONL ${(after.rss / MB).toFixed(1)} MB, `
        + `peak ${(after.peak / MB).toFixed(1)} MB (peak before ${(before.peak / MB).toFixed(1)} MB), old generation capped at ${OLD_SPACE_MB} MB`,
    );
    // The bound is the cap: the server lived through both exports with its JavaScript heap under
    // it, so neither the events nor the text of either export was ever held whole (with every event
    // read at once it runs out of memory and the transfer breaks). RSS is printed, not bounded: it
    // also counts socket buffers the allocator keeps after they are freed.
    expect(await healthStatus(server.origin)).toBe(200);
    expect(server.log()).not.toMatch(/heap out of memory/i);
    expect(jsonl.text.length).toBeGreaterThan(40 * MB);
  });

  it('applies the filters to every line: action, outcome, target key and time range', { timeout: 120_000 }, async () => {
    const denied = await download({ format: 'jsonl', action: 'token.issue', outcome: 'denied' });
    const deniedEvents = denied.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(deniedEvents).toHaveLength(await countWhere(sql`action = 'token.issue' and outcome = 'denied'`));
    expect(deniedEvents.length).toBe(SEEDED / 4);
    expect(deniedEvents.every((e) => e.action === 'token.issue' && e.outcome === 'denied' && e.reason === 'invalid_client')).toBe(true);

    const since = (await sql<{ at: Date }>`select at from audit_events where request_id = 'seed-90001'`.execute(db)).rows[0]!.at.toISOString();
    const until = (await sql<{ at: Date }>`select at from audit_events where request_id = 'seed-95001'`.execute(db)).rows[0]!.at.toISOString();
    const ranged = parseCsv((await download({ format: 'csv', target_key_id: 'kg_seed7', since, until })).text);
    const [header, ...rows] = ranged;
    const expected = await countWhere(sql`target_key_id = 'kg_seed7' and at >= ${since}::timestamptz and at < ${until}::timestamptz`);
    expect(expected).toBe(100);
    expect(rows).toHaveLength(expected);
    for (const row of rows) {
      expect(row[header!.indexOf('target_key_id')]).toBe('kg_seed7');
      const at = Date.parse(row[header!.indexOf('at')]!);
      expect(at >= Date.parse(since) && at < Date.parse(until)).toBe(true);
    }
  });

  it('stops at the newest event when it started: events written during the download are not in it', { timeout: 120_000 }, async () => {
    const total = await countWhere(sql`true`);
    const { response, body } = await openExport({ format: 'jsonl' });
    await nextChunk(response);
    await sql`
      insert into audit_events (action, outcome, tenant_id, request_id)
      select 'key.update', 'success', ${tenantId}::uuid, 'written-during-export-' || g from generate_series(1, 10) as g`.execute(db);
    response.resume();
    const text = await body;
    expect(text.trim().split('\n')).toHaveLength(total);
    expect(text).not.toContain('written-during-export');
  });

  it('aborts the transfer when the database fails part-way: the client sees an incomplete download, never a short file that looks whole', {
    timeout: 120_000,
  }, async () => {
    const { response, body } = await openExport({ format: 'csv' });
    await nextChunk(response);
    // Hold the table so the server's next batch waits, then end that waiting query from outside.
    const blocker = connectDatabase(server.env.DATABASE_URL!, 1);
    try {
      await blocker.connection().execute(async (connection) => {
        await sql`begin`.execute(connection);
        await sql`lock table audit_events in access exclusive mode`.execute(connection);
        response.resume();
        let ended = 0;
        await waitFor(
          async () => {
            const waiting = await sql<{ ended: boolean }>`
              select pg_terminate_backend(pid) as ended from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`.execute(connection);
            ended += waiting.rows.filter((row) => row.ended).length;
            return ended > 0;
          },
          30_000,
          'the export waiting on the lock',
        );
        await sql`rollback`.execute(connection);
      });
    } finally {
      await blocker.destroy();
    }
    await expect(body).rejects.toThrow(/aborted|incomplete|terminated|socket hang up/i);
    expect(response.complete).toBe(false);
    // The server goes on (the ended connection does not take the process with it): the next export is whole.
    const again = await download({ format: 'jsonl', action: 'key.disable' });
    expect(again.text.trim().split('\n')).toHaveLength(await countWhere(sql`action = 'key.disable'`));
  });

  /** An export, paused: the test reads a chunk at a time (nextChunk) or resumes it; `body` is all of it. */
  function openExport(query: Record<string, string>): Promise<{ response: IncomingMessage; body: Promise<string> }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(exportUrl(query), { agent: false, headers: { authorization: `Bearer ${token}` } }, (response) => {
        expect(response.statusCode).toBe(200);
        response.pause();
        const chunks: Buffer[] = [];
        const body = new Promise<string>((done, fail) => {
          response.on('end', () => (response.complete ? done(Buffer.concat(chunks).toString('utf8')) : fail(new Error('incomplete'))));
          response.on('aborted', () => fail(new Error('aborted')));
          response.on('error', (error) => fail(error));
        });
        body.catch(() => {});
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        resolve({ response, body });
      });
      req.on('error', reject);
      req.end();
    });
  }
});

/** /healthz on a connection of its own (a pooled one may be one the server just closed as idle). */
function healthStatus(origin: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    httpRequest(`${origin}/healthz`, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    })
      .on('error', reject)
      .end();
  });
}

/** The next chunk of a paused response, leaving it paused. */
function nextChunk(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    response.once('data', (chunk: Buffer) => {
      response.pause();
      resolve(chunk.toString('utf8'));
    });
    response.resume();
  });
}
