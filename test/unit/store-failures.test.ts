// Only a store that cannot be reached is "unavailable" (503); anything else is a bug and stays one
// (500, with its stack in the log) instead of hiding behind a retryable answer.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/shared/metrics.ts';
import { instrumentTokenStore } from '../../src/stores/tokens-instrumented.ts';
import type { TokenStore } from '../../src/stores/tokens.ts';
import { isConnectionFailure, StoreUnavailableError } from '../../src/shared/store-failures.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const named = (message: string, name: string) => Object.assign(new Error(message), { name });

describe('isConnectionFailure', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED')],
    ['ioredis giving up on a command', named('Reached the max retries per request limit (which is 1).', 'MaxRetriesPerRequestError')],
    ['a Redis still loading its data', new Error('LOADING Redis is loading the dataset in memory')],
    ['a replica answering read-only after a failover', new Error("READONLY You can't write against a read only replica.")],
    ['a closed connection', new Error('Connection is closed.')],
    ['a Postgres that went away', withCode('terminating connection due to administrator command', '57P01')],
  ])('is true for %s', (_label, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    ['a programming bug', new TypeError("Cannot read properties of undefined (reading 'scope')")],
    ['a wrong Redis command', new Error('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a SQL error', withCode('column "nope" does not exist', '42703')],
  ])('is false for %s', (_label, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

describe('instrumentTokenStore', () => {
  const failingWith = (error: Error): TokenStore => ({
    kind: 'redis',
    save: async () => {
      throw error;
    },
    find: async () => {
      throw error;
    },
    destroy: async () => {
      throw error;
    },
    destroyAllForKey: async () => {
      throw error;
    },
    ping: async () => {},
    close: async () => {},
  });

  it('reports an unreachable store as StoreUnavailableError, with the cause', async () => {
    const cause = withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED');
    const failure = await instrumentTokenStore(failingWith(cause), createMetrics())
      .find('h')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).cause).toBe(cause);
  });

  it('lets a bug through as itself', async () => {
    const bug = new TypeError('x is not a function');
    await expect(
      instrumentTokenStore(failingWith(bug), createMetrics()).save('h', { clientId: 'kg_x', scope: '', iat: 1, exp: 2, generation: 1, epoch: 0 }),
    ).rejects.toBe(bug);
  });
});
