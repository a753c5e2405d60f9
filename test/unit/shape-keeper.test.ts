// The listener's first request and response are held while V8 settles their layout, and let go
// after KEPT_UNTIL_REQUESTS more, so a first client's credentials do not stay in memory for life.
// (That holding them prevents the slow layout is test/unit/server-object-shapes.test.ts.)
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { KEPT_UNTIL_REQUESTS, shapeKeeper } from '../../src/http/shape-keeper.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Whether the objects behind `refs` survive a full collection (weak references clear only between jobs). */
async function alive(refs: WeakRef<object>[]): Promise<boolean[]> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
  return refs.map((ref) => ref.deref() !== undefined);
}

describe('shapeKeeper', () => {
  it(`holds the first request and response through ${KEPT_UNTIL_REQUESTS} requests, and lets them go after`, async () => {
    const see = shapeKeeper();
    const refs = (() => {
      const first = [{ headers: { authorization: 'Basic first' } }, { statusCode: 200 }];
      see(first[0]!, first[1]!);
      return first.map((o) => new WeakRef(o));
    })();
    const later = () => see({}, {});
    for (let i = 1; i < KEPT_UNTIL_REQUESTS; i++) later();
    expect(await alive(refs)).toEqual([true, true]);
    later();
    expect(await alive(refs)).toEqual([false, false]);
  });

  it('keeps nothing but the first: later requests are never held', async () => {
    const see = shapeKeeper();
    see({}, {});
    const refs = (() => {
      const second = [{}, {}];
      see(second[0]!, second[1]!);
      return second.map((o) => new WeakRef(o));
    })();
    expect(await alive(refs)).toEqual([false, false]);
  });
});
