// Listens for the key-change notifications the database sends on commit (see migration
// 20261123T130000) and, on the same connection, for the last-use rows a write changed
// (key-last-use.ts). A dedicated connection; on loss it reconnects, and the consumer is told the
// feed was interrupted, so it can stop trusting what it cached meanwhile. A connection can also
// die silently (a half-open TCP connection, a frozen peer): a heartbeat query every few seconds
// that does not answer in time counts as a loss too.
import pg from 'pg';
import type { Logger } from 'pino';

export const KEY_CHANGES_CHANNEL = 'keygate_key_changes';

/** Where a last-use write announces the rows it changed (key-last-use.ts), on the same connection. */
export const LAST_USE_CHANNEL = 'keygate_last_use';

/** One changed last-use row, as announced. */
export interface LastUseWrite {
  clientId: string;
  ip: string | null;
  atMs: number;
}

export interface KeyChangeFeed {
  /** True while the listening connection is up: only then may cached key state be trusted. */
  readonly live: boolean;
  close(): Promise<void>;
}

export interface KeyChangeHandlers {
  /** A client_id, or '*' for every key. */
  onChange(clientId: string): void;
  /** The feed went down or came back; while down, changes may be missed. */
  onLiveChange(live: boolean): void;
  /** Last-use rows some replica (this one included) just changed. */
  onLastUseWritten?(writes: LastUseWrite[]): void;
}

export async function listenForKeyChanges(
  url: string,
  handlers: KeyChangeHandlers,
  log: Logger,
  options: { heartbeatMs?: number } = {},
): Promise<KeyChangeFeed> {
  const heartbeatMs = options.heartbeatMs ?? 5000;
  let client: pg.Client | undefined;
  let live = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const setLive = (value: boolean) => {
    if (live === value) return;
    live = value;
    handlers.onLiveChange(value);
  };

  const connect = async (): Promise<void> => {
    // Bounded waits: a peer that accepts but never answers must not stall reconnecting forever.
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: heartbeatMs, query_timeout: heartbeatMs });
    next.on('notification', (message) => {
      if (message.channel === KEY_CHANGES_CHANNEL && message.payload) handlers.onChange(message.payload);
      else if (message.channel === LAST_USE_CHANNEL && message.payload) handlers.onLastUseWritten?.(parseLastUseWrites(message.payload));
    });
    next.on('error', () => {}); // the 'end' handler below deals with the loss
    next.on('end', () => {
      if (client !== next) return;
      client = undefined;
      setLive(false);
      if (!closed) scheduleRetry();
    });
    try {
      await next.connect();
      await next.query(`listen ${KEY_CHANGES_CHANNEL}`);
      if (handlers.onLastUseWritten) await next.query(`listen ${LAST_USE_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    client = next;
    setLive(true);
  };

  /** Gives up on a connection that stopped answering: not live from now on, and a new one is made. */
  const abandon = (stale: pg.Client) => {
    if (client !== stale) return;
    client = undefined;
    setLive(false);
    log.warn('key change feed: heartbeat unanswered; key cache bypassed until it reconnects');
    stale.end().catch(() => {});
    if (!closed) scheduleRetry();
  };

  let checking: pg.Client | undefined; // the connection whose heartbeat is awaited
  const heartbeat = setInterval(() => {
    const current = client;
    if (!current || checking === current) return;
    checking = current;
    const deadline = setTimeout(() => abandon(current), heartbeatMs);
    current
      .query('select 1')
      .catch(() => abandon(current))
      .finally(() => {
        clearTimeout(deadline);
        if (checking === current) checking = undefined;
      });
  }, heartbeatMs);
  heartbeat.unref();

  const scheduleRetry = () => {
    retryTimer = setTimeout(() => {
      connect().catch((error) => {
        log.warn({ err: error }, 'key change feed: reconnect failed');
        if (!closed) scheduleRetry();
      });
    }, 500);
    retryTimer.unref();
  };

  try {
    await connect();
  } catch (error) {
    log.warn({ err: error }, 'key change feed: not connected yet; key cache bypassed until it is');
    scheduleRetry();
  }

  return {
    get live() {
      return live;
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}

/** Lines of "client_id ip at_ms" ('-' for no address); a line not of that form is skipped. */
export function parseLastUseWrites(payload: string): LastUseWrite[] {
  const writes: LastUseWrite[] = [];
  for (const line of payload.split('\n')) {
    const [clientId, ip, at] = line.split(' ');
    const atMs = Number(at);
    if (!clientId || !ip || !Number.isFinite(atMs)) continue;
    writes.push({ clientId, ip: ip === '-' ? null : ip, atMs });
  }
  return writes;
}
