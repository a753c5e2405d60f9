// Keeps a listener's first request and response alive until V8 has settled their layout.
//
// V8 gives the objects a constructor makes room for as many properties as the largest shape its
// first few (7) reached, counting only shapes some live object still has when it decides; a full
// collection forgets the others. A replica whose first requests were a few readiness probes, with
// collections between them (warming a large key cache), could decide with none alive: every later
// request and response then had no room at all and fell into V8's slow dictionary representation
// as Node added its properties, for the life of the process. A request and a response kept alive
// keep their full shapes known. Once the decision is long made they are let go: the first request
// may carry a client's credentials, which no process should hold for its lifetime.

/** Requests a listener reads before it lets its first exchange go: far past V8's few. */
export const KEPT_UNTIL_REQUESTS = 1000;

/** A 'request' listener's part: call it with every request and its response. */
export function shapeKeeper(): (req: object, res: object) => void {
  const kept: object[] = [];
  let read = 0;
  return (req, res) => {
    if (read > KEPT_UNTIL_REQUESTS) return;
    read += 1;
    if (read === 1) kept.push(req, res);
    else if (read > KEPT_UNTIL_REQUESTS) kept.length = 0;
  };
}
