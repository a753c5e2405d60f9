// Redis may sit behind Sentinel. A real password-protected master and one sentinel
// monitoring it (redis-server children on loopback); Keygate finds the master through the sentinel
// with REDIS_URL=redis+sentinel://…/mymaster.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { freePort, stopChild, waitFor } from '../support/processes.ts';

const PASSWORD = 'sentinel-test-password';
const MASTER_NAME = 'mymaster';

describe('token flow through Redis Sentinel', () => {
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  let dir: string;
  let masterPort: number;
  let master: Redis;
  let keygate: TestKeygate;

  const client = (port: number, password?: string) => {
    const redis = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  const ready = (redis: Redis) => async () => {
    if (redis.status !== 'ready') await redis.connect();
    return (await redis.ping()) === 'PONG';
  };

  beforeAll(async () => {
    const binary = inject('redisServerPath')!;
    dir = mkdtempSync(path.join(os.tmpdir(), 'keygate-sentinel-'));
    masterPort = await freePort();
    children.push(
      spawn(binary, ['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD, '--dir', dir], {
        stdio: 'ignore',
      }),
    );
    master = client(masterPort, PASSWORD);
    await waitFor(ready(master), 10_000, 'redis master');

    const sentinelPort = await freePort();
    // Sentinel rewrites its configuration file, so it gets its own.
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1`,
        `sentinel auth-pass ${MASTER_NAME} ${PASSWORD}`,
        '',
      ].join('\n'),
    );
    children.push(spawn(binary, [conf, '--sentinel'], { stdio: 'ignore' }));
    const sentinel = client(sentinelPort);
    await waitFor(
      async () => {
        await ready(sentinel)();
        const address = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[] | null;
        return address?.[1] === String(masterPort);
      },
      10_000,
      'the sentinel to know the master',
    );

    keygate = await startKeygate({ tokenStore: 'redis', redisUrl: `redis+sentinel://:${PASSWORD}@127.0.0.1:${sentinelPort}/${MASTER_NAME}?db=2` });
  }, 60_000);
  afterAll(async () => {
    await keygate?.close();
    for (const redis of clients) redis.disconnect();
    await Promise.all(children.map((child) => stopChild(child)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gets a token through the sentinel, stores it on the master in the chosen db, and introspects it', async () => {
    const tenantId = await keygate.newTenant();
    const introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    const key = await keygate.createKey(tenantId);
    const response = await keygate.token(key, { scope: 'devices:read' });
    expect(response.status).toBe(200);
    const token = response.body.access_token;
    expect((await keygate.introspect(introspector, token)).body).toMatchObject({ active: true, scope: 'devices:read', client_id: key.key.client_id });

    await master.select(2);
    expect(await master.exists(`kg:t:${hashToken(token)}`)).toBe(1);
    expect((await keygate.send({ method: 'GET', path: '/readyz' })).status).toBe(200);
  });
});
