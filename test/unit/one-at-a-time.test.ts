// The recorders' flush wrapper: never two writes at once, one more after a running one for what
// arrived meanwhile, calls that find one waiting share it, and a failed write stops nothing after it.
import { describe, expect, it } from 'vitest';
import { oneAtATime } from '../../src/shared/one-at-a-time.ts';

/** A write that waits until the test lets it end, recording when it started. */
function controlledWrite() {
  const started: number[] = [];
  const endings: Array<(error?: Error) => void> = [];
  let running = 0;
  let mostAtOnce = 0;
  const write = () =>
    new Promise<void>((resolve, reject) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      started.push(started.length + 1);
      endings.push((error) => {
        running -= 1;
        if (error) reject(error);
        else resolve();
      });
    });
  return { write, started, endings, mostAtOnce: () => mostAtOnce };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('oneAtATime', () => {
  it('a call while a write runs starts one more after it, never two at once', async () => {
    const w = controlledWrite();
    const flush = oneAtATime(w.write);
    const first = flush();
    await turn();
    expect(w.started).toEqual([1]);
    const second = flush();
    await turn();
    expect(w.started).toEqual([1]);
    w.endings[0]!();
    await first;
    await turn();
    expect(w.started).toEqual([1, 2]);
    w.endings[1]!();
    await second;
    expect(w.mostAtOnce()).toBe(1);
  });

  it('calls made while the next write waits to start share it', async () => {
    const w = controlledWrite();
    const flush = oneAtATime(w.write);
    const first = flush();
    await turn();
    const waiting = [flush(), flush(), flush()];
    expect(waiting[1]).toBe(waiting[0]);
    expect(waiting[2]).toBe(waiting[0]);
    w.endings[0]!();
    await first;
    await turn();
    w.endings[1]!();
    await Promise.all(waiting);
    expect(w.started).toEqual([1, 2]);
  });

  it('a failed write fails its callers, and the next call still writes', async () => {
    const w = controlledWrite();
    const flush = oneAtATime(w.write);
    const failing = flush();
    await turn();
    w.endings[0]!(new Error('store down'));
    await expect(failing).rejects.toThrow('store down');
    const next = flush();
    await turn();
    w.endings[1]!();
    await next;
    expect(w.started).toEqual([1, 2]);
  });
});
