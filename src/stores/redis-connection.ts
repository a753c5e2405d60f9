// REDIS_URL → an ioredis client: a single node, a Sentinel-managed master, or a Cluster.
//   redis://[[user]:password@]host[:port][/db]            single node (rediss:// = TLS), as ioredis reads it
//   redis+sentinel://[[user]:password@]h1:p1,h2:p2/<masterName>[?db=N]
//                                                       the password is the master's, not the sentinels'
//   redis+cluster://[[user]:password@]h1:p1,h2:p2         seed nodes; the rest are discovered
// parseRedisUrl is pure so config.ts can validate the variable at start; its messages never
// repeat the URL, which may hold a password.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { BATCHED_GET_COMMAND } from './redis-batched-get.ts';
import { BATCHED_SAVE_COMMAND } from './redis-batched-save.ts';

export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'sentinel'; sentinels: RedisNode[]; name: string; username?: string; password?: string; db: number }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string };

export type RedisClient = Redis | Cluster;

const DEFAULT_SENTINEL_PORT = 26379;
const DEFAULT_CLUSTER_PORT = 6379;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._-]+)?$/;

/** Throws an Error whose message says what is wrong (without echoing the URL). */
export function parseRedisUrl(text: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error('not a valid URL');
    }
    if (!url.hostname) throw new Error('the URL names no host');
    return { kind: 'single', url: text };
  }
  if (scheme !== 'redis+sentinel' && scheme !== 'redis+cluster') {
    throw new Error('the scheme must be redis://, rediss://, redis+sentinel:// or redis+cluster://');
  }
  const rest = text.slice(scheme.length + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const credentials = at === -1 ? {} : parseUserInfo(authority.slice(0, at));
  const defaultPort = scheme === 'redis+sentinel' ? DEFAULT_SENTINEL_PORT : DEFAULT_CLUSTER_PORT;
  const nodes = authority
    .slice(at + 1)
    .split(',')
    .map((entry) => parseNode(entry.trim(), defaultPort));

  const queryStart = tail.indexOf('?');
  if (tail.includes('#')) throw new Error('the URL must not have a #fragment');
  const path = queryStart === -1 ? tail : tail.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? '' : tail.slice(queryStart + 1));

  if (scheme === 'redis+cluster') {
    if (path !== '' && path !== '/') throw new Error('a redis+cluster URL has no path (a cluster has database 0 only)');
    if ([...query.keys()].length > 0) throw new Error('a redis+cluster URL takes no query parameters');
    return { kind: 'cluster', nodes, ...credentials };
  }
  const name = decode(path.replace(/^\//, ''));
  if (!name || name.includes('/')) throw new Error('a redis+sentinel URL must end in /<masterName>');
  let db = 0;
  for (const [parameter, value] of query) {
    if (parameter !== 'db') throw new Error(`unknown query parameter '${parameter}' (only db is allowed)`);
    if (!/^\d{1,5}$/.test(value)) throw new Error('db must be a whole number');
    db = Number(value);
  }
  return { kind: 'sentinel', sentinels: nodes, name, db, ...credentials };
}

function parseUserInfo(userInfo: string): { username?: string; password?: string } {
  // As ioredis reads redis://: `user:password`, `:password`, or a bare `user`.
  const colon = userInfo.indexOf(':');
  const username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userInfo.slice(colon + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseNode(entry: string, defaultPort: number): RedisNode {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(entry);
  const host = match?.[1] ?? match?.[2];
  if (!match || !host || (match[1] !== undefined ? !IPV6.test(host) : !HOSTNAME.test(host))) {
    throw new Error('each node must be host:port (IPv6 as [address]:port), nodes separated by commas');
  }
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) throw new Error('a node port must be 1–65535');
  return { host, port };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new Error('the URL has an invalid %-escape');
  }
}

/**
 * How long a command may wait for its reply. A Redis that stops answering with its connection
 * still open (frozen, paging, stuck in a long script) would otherwise hold every request waiting
 * on it until it answers; past this, the command fails as the store being unavailable (503), and
 * its late reply, if any, is still matched to it. Every command Keygate sends answers in
 * milliseconds.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/** Connects at once; commands fail fast (one retry) when Redis is unreachable, and /readyz says so. */
export function connectRedis(url: string): RedisClient {
  // Auto-pipelining batches commands issued in the same tick into one write (one socket write per
  // command dominated the profiles of the token and introspection paths). The token reads and saves
  // already carry a whole turn's batch, so they skip it: its per-turn Pipeline (a copy of every
  // script's methods, a promise, a list of callbacks) would wrap that one command, wait one more
  // turn to be sent, and mostly outlive a young collection, filling the old generation.
  const common: RedisOptions = {
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    enableOfflineQueue: true,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: [BATCHED_GET_COMMAND, BATCHED_SAVE_COMMAND],
  };
  const target = parseRedisUrl(url);
  switch (target.kind) {
    case 'single':
      return new Redis(target.url, common);
    case 'sentinel':
      return new Redis({
        ...common,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        username: target.username,
        password: target.password,
      });
    case 'cluster':
      return new Cluster(target.nodes, {
        enableOfflineQueue: true,
        redisOptions: { ...common, username: target.username, password: target.password },
      });
  }
}
