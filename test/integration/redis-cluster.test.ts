// Redis may be a Cluster. A real 3-master Redis Cluster (redis-server children on
// loopback, password-protected) holds the token state; the token suite runs against it with
// REDIS_URL=redis+cluster://…, and the records are checked to really be spread over the masters.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { REDIS_LAYOUT } from '../../src/stores/tokens-redis.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth } from '../support/http.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';
import { freePort, stopChild, waitFor } from '../support/processes.ts';

const PASSWORD = 'cluster-test-password';
const SLOTS = 16_384;

interface ClusterNode {
  port: number;
  busPort: number;
  child: ChildProcess;
  /** A plain (non-cluster) connection to this node alone. */
  admin: Redis;
  /** Inclusive slot range this master owns. */
  slots: [number, number];
}

interface TestCluster {
  nodes: ClusterNode[];
  stop(): Promise<void>;
}

/** Three masters, slots split evenly, joined by hand (CLUSTER ADDSLOTSRANGE / MEET; Redis ≥ 7). */
async function startCluster(binary: string, dir: string): Promise<TestCluster> {
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    for (const node of nodes) node.admin.disconnect();
    await Promise.all(nodes.map((node) => stopChild(node.child)));
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // An explicit bus port: the default (port + 10000) may be above 65535 or taken.
      const busPort = await freePort();
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, `nodes-${port}.conf`),
          '--cluster-port',
          String(busPort),
          '--requirepass',
          PASSWORD,
          '--masterauth',
          PASSWORD,
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      const admin = new Redis({ port, host: '127.0.0.1', password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => {});
      const first = Math.floor((i * SLOTS) / 3);
      nodes.push({ port, busPort, child, admin, slots: [first, Math.floor(((i + 1) * SLOTS) / 3) - 1] });
    }
    for (const node of nodes) {
      await waitFor(
        async () => {
          if (node.admin.status !== 'ready') await node.admin.connect();
          return (await node.admin.ping()) === 'PONG';
        },
        10_000,
        `cluster node ${node.port}`,
      );
    }
    for (const [i, node] of nodes.entries()) {
      await node.admin.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
      await node.admin.call('CLUSTER', 'ADDSLOTSRANGE', String(node.slots[0]), String(node.slots[1]));
    }
    for (const node of nodes.slice(1)) await nodes[0]!.admin.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(node.busPort));
    await waitFor(
      async () => {
        for (const node of nodes) {
          const info = String(await node.admin.call('CLUSTER', 'INFO'));
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:3') || !info.includes(`cluster_slots_ok:${SLOTS}`)) return false;
        }
        return true;
      },
      30_000,
      'cluster_state:ok on every node',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}

describe('token flow on a Redis Cluster', () => {
  let dir: string;
  let cluster: TestCluster | undefined;
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'keygate-cluster-'));
    cluster = await startCluster(inject('redisServerPath')!, dir);
    // Two of the three masters as seeds: the client discovers the third from the slot map.
    const seeds = cluster.nodes
      .slice(0, 2)
      .map((node) => `127.0.0.1:${node.port}`)
      .join(',');
    keygate = await startKeygate({ tokenStore: 'redis', redisUrl: `redis+cluster://:${PASSWORD}@${seeds}` });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  }, 60_000);
  afterAll(async () => {
    await keygate?.close();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Which master holds each of these keys, read from every master directly. */
  async function holders(keys: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const node of cluster!.nodes) {
      for (const key of keys) {
        const slot = Number(await node.admin.call('CLUSTER', 'KEYSLOT', key));
        if (slot < node.slots[0] || slot > node.slots[1]) continue;
        if ((await node.admin.exists(key)) === 1) found.set(key, node.port);
      }
    }
    return found;
  }

  it('runs on a cluster that really has three masters sharing the slots', async () => {
    const masters = String(await cluster!.nodes[2]!.admin.call('CLUSTER', 'NODES'))
      .trim()
      .split('\n')
      .filter((line) => line.split(' ')[2]!.includes('master'));
    expect(masters).toHaveLength(3);
    expect((await keygate.send({ method: 'GET', path: '/readyz' })).status).toBe(200);
  });

  it('issues a token on /oauth/token that introspects active', async () => {
    const key = await keygate.createKey(tenantId);
    const response = await keygate.token(key, { scope: 'devices:read' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'devices:read',
    });
    expect((await keygate.introspect(introspector, response.body.access_token)).body).toEqual({
      active: true,
      scope: 'devices:read',
      client_id: key.key.client_id,
      sub: key.key.client_id,
      tenant_id: tenantId,
      key_kind: 'service',
      token_type: 'Bearer',
      iat: expect.any(Number),
      exp: expect.any(Number),
      iss: ISSUER,
    });
  });

  it('issues tokens from both API-key exchanges that introspect active', async () => {
    const key = await keygate.createKey(tenantId);
    const authorize = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } });
    const external = await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: key.client_secret } });
    expect([authorize.status, external.status]).toEqual([200, 200]);
    for (const token of [authorize.body.data.accessToken, external.body.data.token]) {
      expect((await keygate.introspect(introspector, token)).body).toMatchObject({ active: true, client_id: key.key.client_id });
    }
  });

  it('revokes a token (RFC 7009): inactive at once, its record and index entry gone', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const revoke = await keygate.send({ path: '/oauth/revoke', headers: { authorization: basicAuth(key.key.client_id, key.client_secret) }, form: { token } });
    expect(revoke.status).toBe(200);
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    expect(await holders([`kg:t:${hashToken(token)}`])).toEqual(new Map());
  });

  it('spreads token records over more than one master, and disabling the key drops every one', async () => {
    const key = await keygate.createKey(tenantId);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await keygate.token(key);
      expect(response.status).toBe(200);
      tokens.push(response.body.access_token);
    }
    const recordKeys = tokens.map((token) => `kg:t:${hashToken(token)}`);
    const before = await holders(recordKeys);
    expect([...before.keys()].sort()).toEqual([...recordKeys].sort());
    expect(new Set(before.values()).size).toBeGreaterThan(1);
    // The key's index buckets share one slot (hash tag), so one master holds them all.
    const records = await Promise.all(tokens.map((token) => keygate.runtime.tokens.find(hashToken(token))));
    const indexKeys = [...new Set(records.map((record) => REDIS_LAYOUT.indexKey(key.key.client_id, REDIS_LAYOUT.bucketOf(record!.exp))))];
    const indexHolders = await holders(indexKeys);
    expect([...indexHolders.keys()].sort()).toEqual(indexKeys.sort());
    expect(new Set(indexHolders.values()).size).toBe(1);

    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', { keyId: null, userId: null, via: 'test' });

    for (const token of tokens) expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    expect(await holders([...recordKeys, ...indexKeys])).toEqual(new Map());
    const [disable] = await keygate.runtime.audit.list({ targetKeyId: key.key.client_id, action: 'key.disable' });
    expect(disable?.details).toEqual({ via: 'test', tokens_dropped: 20 });
  });

  it('keeps its abuse counters on the cluster: a wrong secret is a plain 401, and a per-key issuance limit holds', async () => {
    const key = await keygate.createKey(tenantId, { rateLimitPerMinute: 2 });
    const wrong = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, generateClientSecret()) },
      form: { grant_type: 'client_credentials' },
    });
    expect({ status: wrong.status, body: wrong.body }).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed' },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await keygate.token(key)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('keeps the dropped tokens dead after the key is enabled again', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const actor = { keyId: null, userId: null, via: 'test' } as const;
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', actor);
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'active', actor);
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    expect((await keygate.introspect(introspector, (await keygate.token(key)).body.access_token)).body.active).toBe(true);
  });
  it('counts per-key usage on the cluster: one batch over keys in different slots, read back per key', async () => {
    const keys = await Promise.all(Array.from({ length: 12 }, () => keygate.createKey(tenantId)));
    for (const key of keys) expect((await keygate.token(key)).status).toBe(200);
    await keygate.runtime.activity.flush();
    const day = Math.floor(Date.now() / 86_400_000);
    const issued = await keygate.runtime.activityStore.read(
      keys.map((key) => key.key.client_id),
      'day',
      day,
      day,
    );
    expect(issued.map(([counts]) => counts?.issued)).toEqual(keys.map(() => 1));
    const where = await holders(keys.map((key) => `kg:u:{${key.key.client_id}}:${day}`));
    expect(where.size).toBe(keys.length);
    expect(new Set(where.values()).size).toBeGreaterThan(1);
  });
});
