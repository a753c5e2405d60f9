// Shutdown order: each part closes after the one before it has settled, and a part that fails to
// close keeps none of the parts after it open.
import { describe, expect, it } from 'vitest';
import { closeInOrder } from '../../src/shared/close-in-order.ts';

describe('closeInOrder', () => {
  it('runs each step after the one before it has finished', async () => {
    const events: string[] = [];
    const slow = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`${name} end`);
    };
    await closeInOrder([slow('redis'), () => undefined, slow('db')]);
    expect(events).toEqual(['redis start', 'redis end', 'db start', 'db end']);
  });

  it('a step that throws or rejects does not keep the later ones from running, and its failure is reported', async () => {
    const closed: string[] = [];
    const refused = new Error('QUIT refused');
    const result = closeInOrder([
      () => {
        throw refused;
      },
      () => closed.push('pool'),
      async () => closed.push('embedded postgres'),
    ]);
    await expect(result).rejects.toBe(refused);
    expect(closed).toEqual(['pool', 'embedded postgres']);
  });

  it('several failures are all reported, in order', async () => {
    const first = new Error('first');
    const second = new Error('second');
    const result = closeInOrder([() => Promise.reject(first), () => undefined, () => Promise.reject(second)]);
    await expect(result).rejects.toSatisfy((error) => error instanceof AggregateError && error.errors[0] === first && error.errors[1] === second);
  });
});
