// Keeps a listener's first request and response alive until V8 has settled their layout.
//
// V8 gives the objects a constructor makes room for as many properties as the largest shape its
// first few (7) reached, counting only shapes some live object still has when it decides; a full
// collection forgets the others. A replica whose first requests were a few readiness probes, with
// collections between them (warming a large key cache), could decide with none alive: every later
// request and response then had no room at all and fell into V8's slow dictionary representation
// as Node added its properties, for the life of the process. A request and a response kept alive
// keep their full shapes known.
//
// Only their shapes are needed, not what they carried. The first request may be any client's, with
// its secret in a header or in its body, and its answer may set a session cookie; on a quiet
// listener (a TLS port, a single node) the thousandth request may never come. So once both are
// closed, everything they carried is dropped: values are replaced and no property is added or
// removed, which would change the very shape they are kept for. After KEPT_UNTIL_REQUESTS more
// requests, long after V8 has decided, the two objects themselves are let go.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests a listener reads before it lets its first exchange go: far past V8's few. */
export const KEPT_UNTIL_REQUESTS = 1000;

/** A 'request' listener's part: call it with every request and its response. */
export function shapeKeeper(): (req: IncomingMessage, res: ServerResponse) => void {
  const kept: object[] = [];
  let read = 0;
  return (req, res) => {
    if (read > KEPT_UNTIL_REQUESTS) return;
    read += 1;
    if (read === 1) keepShapesOnly(req, res, kept);
    else if (read > KEPT_UNTIL_REQUESTS) kept.length = 0;
  };
}

function keepShapesOnly(req: IncomingMessage, res: ServerResponse, kept: object[]): void {
  kept.push(req, res);
  // Both closed: the request read or dumped to its end, the answer written. Nothing uses either after.
  let open = 2;
  const closed = () => {
    open -= 1;
    if (open === 0) forgetContents(req, res);
  };
  req.once('close', closed);
  res.once('close', closed);
}

/** Drops what a finished exchange carried, keeping every property it has. */
function forgetContents(req: IncomingMessage, res: ServerResponse): void {
  // Listeners' closures hold what they read (a body's chunks, in http/body.ts).
  req.removeAllListeners();
  res.removeAllListeners();
  req.headers = {};
  req.rawHeaders = [];
  req.trailers = {};
  req.rawTrailers = [];
  req.url = '/';
  // The head as written (a Set-Cookie, a Location) and the headers it was made of. Headers can
  // only be removed while no head is on record, which is how a response starts out (null).
  const response = res as ServerResponse & { _header: string | null };
  response._header = null;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
}
