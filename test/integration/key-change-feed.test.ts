// The key-change feed (stores/key-changes.ts) against a real Postgres, through a relay that can
// freeze: it stops passing bytes without closing anything, as a dead peer or a network partition
// would. Such a connection never reports an error, so only the heartbeat can notice it; until the
// feed reconnects, the key cache must not be trusted (changes reach every replica in 1 s).
import net from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KEY_CHANGES_CHANNEL, listenForKeyChanges, type KeyChangeFeed } from '../../src/stores/key-changes.ts';

interface Relay {
  port: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** Relays TCP to `target`; frozen, it holds every byte (old connections and new) and closes nothing. */
async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  let frozen = false;
  const held = new Set<net.Socket>();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = net.createServer((inbound) => {
    track(inbound);
    const outbound = net.connect(target.port, target.host);
    track(outbound);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (chunk) => {
        if (frozen) {
          from.pause();
          held.add(from);
          return; // the chunk is dropped: a partition loses what is in flight
        }
        to.write(chunk);
      });
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    // Connections made while frozen stay dead; new ones pass again.
    thaw: () => {
      frozen = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

describe('key change feed: a connection that dies silently is noticed', () => {
  const databaseUrl = inject('databaseUrl');
  let relay: Relay;
  let feed: KeyChangeFeed;
  let notifier: pg.Client;
  const liveChanges: boolean[] = [];
  const changes: string[] = [];

  beforeAll(async () => {
    const url = new URL(databaseUrl);
    relay = await startRelay({ host: url.hostname, port: Number(url.port) });
    url.port = String(relay.port);
    feed = await listenForKeyChanges(
      url.toString(),
      {
        onChange: (clientId) => changes.push(clientId),
        onLiveChange: (live) => liveChanges.push(live),
      },
      pino({ level: 'silent' }),
      { heartbeatMs: 200 },
    );
    notifier = new pg.Client({ connectionString: databaseUrl });
    await notifier.connect();
  });

  afterAll(async () => {
    await feed?.close();
    await notifier?.end();
    await relay?.close();
  });

  const notify = (payload: string) => notifier.query('select pg_notify($1, $2)', [KEY_CHANGES_CHANNEL, payload]);

  it('is live and hears changes through the relay', async () => {
    expect(feed.live).toBe(true);
    expect(liveChanges).toEqual([true]);
    await notify('kg_before');
    await until(() => changes.includes('kg_before'), 2000, 'notification');
  });

  it('reports the feed down within two heartbeats of the relay freezing, though nothing closed', async () => {
    relay.freeze();
    const tookMs = await until(() => !feed.live, 2000, 'feed down');
    expect(liveChanges).toEqual([true, false]);
    expect(tookMs).toBeLessThan(2000);
  });

  it('reconnects once the relay passes bytes again, and hears changes again', async () => {
    await notify('kg_missed'); // sent while frozen: lost, which is why the cache was dropped
    relay.thaw();
    await until(() => feed.live, 5000, 'feed live again');
    expect(liveChanges).toEqual([true, false, true]);
    await notify('kg_after');
    await until(() => changes.includes('kg_after'), 2000, 'notification after reconnect');
    expect(changes).not.toContain('kg_missed');
  });
});
