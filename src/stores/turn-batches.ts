// Store calls of one event-loop turn, sent as one: each caller gets the answer at its own position
// in the batch, and a batch that fails fails every caller in it.

/**
 * `sendBatch` answers a batch with one result per item, in order. A batch holds what was asked in
 * one turn (sent on setImmediate, so every request read in this turn's I/O has joined it), at
 * most `maxBatch` items; a full batch is sent at once.
 */
export function batchPerTurn<In, Out>(maxBatch: number, sendBatch: (items: In[]) => Promise<readonly Out[]>): (item: In) => Promise<Out> {
  // Parallel arrays rather than a record per call.
  let items: In[] = [];
  let resolvers: ((value: Out) => void)[] = [];
  let rejecters: ((error: unknown) => void)[] = [];

  const send = () => {
    if (items.length === 0) return;
    const sent = items;
    const resolve = resolvers;
    const reject = rejecters;
    items = [];
    resolvers = [];
    rejecters = [];
    sendBatch(sent).then(
      (results) => {
        for (let i = 0; i < resolve.length; i += 1) resolve[i]!(results[i]!);
      },
      (error: unknown) => {
        for (const fail of reject) fail(error);
      },
    );
  };

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      if (items.length === 0) setImmediate(send);
      items.push(item);
      resolvers.push(resolve);
      rejecters.push(reject);
      if (items.length >= maxBatch) send();
    });
}
