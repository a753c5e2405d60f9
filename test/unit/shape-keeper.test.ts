// The listener's first request and response are held while V8 settles their layout, and let go
// after KEPT_UNTIL_REQUESTS more. Only their shapes are held: once the exchange is over, nothing a
// client sent or was sent back stays reachable through them, however quiet the listener is.
// (That holding them prevents the slow layout is test/unit/server-object-shapes.test.ts.)
import http, { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { KEPT_UNTIL_REQUESTS, shapeKeeper } from '../../src/http/shape-keeper.ts';
import { readRawBody } from '../../src/http/body.ts';
import { listen } from '../../src/server.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Whether the objects behind `refs` survive a full collection (weak references clear only between jobs). */
async function alive(refs: WeakRef<object>[]): Promise<boolean[]> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
  return refs.map((ref) => ref.deref() !== undefined);
}

function exchange(): [IncomingMessage, ServerResponse] {
  const req = new IncomingMessage(new net.Socket());
  return [req, new ServerResponse(req)];
}

describe('shapeKeeper', () => {
  it(`holds the first request and response through ${KEPT_UNTIL_REQUESTS} requests, and lets them go after`, async () => {
    const see = shapeKeeper();
    const refs = (() => {
      const first = exchange();
      see(...first);
      return first.map((o) => new WeakRef(o));
    })();
    for (let i = 1; i < KEPT_UNTIL_REQUESTS; i++) see(...exchange());
    expect(await alive(refs)).toEqual([true, true]);
    see(...exchange());
    expect(await alive(refs)).toEqual([false, false]);
  });

  it('keeps nothing but the first: later requests are never held', async () => {
    const see = shapeKeeper();
    see(...exchange());
    const refs = (() => {
      const second = exchange();
      see(...second);
      return second.map((o) => new WeakRef(o));
    })();
    expect(await alive(refs)).toEqual([false, false]);
  });
});

describe('the exchange a listener keeps', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it("holds none of the first client's secret, body or cookie once it is over, and the connection serves on", async () => {
    const secret = `kgs_${'S'.repeat(40)}`;
    const cookie = `kg_session=${'C'.repeat(40)}`;
    // Weak references only: what stays alive is what the listener itself keeps.
    const seen: { req: WeakRef<IncomingMessage>; res: WeakRef<ServerResponse>; body: WeakRef<Buffer>; headers: WeakRef<object> }[] = [];
    const listener = await listen(
      (ServerResponse) =>
        http.createServer({ ServerResponse }, (req, res) => {
          void (async () => {
            // What the token route does: the body through readRawBody, the headers parsed.
            const body = await readRawBody(req);
            seen.push({ req: new WeakRef(req), res: new WeakRef(res), body: new WeakRef(body), headers: new WeakRef(req.headers) });
            res.setHeader('Set-Cookie', cookie);
            res.end(`${req.headers.authorization === undefined ? 'none' : 'basic'} ${body.length}`);
          })();
        }),
      0,
      '127.0.0.1',
    );
    close = listener.close;
    const { port } = listener.server.address() as AddressInfo;

    // The first request of the listener, and a second one on the same keep-alive connection.
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const form = `grant_type=client_credentials&client_secret=${secret}`;
    const post = (auth: string) =>
      `POST /oauth/token HTTP/1.1\r\nHost: t\r\nAuthorization: Basic ${Buffer.from(`kg_id:${auth}`).toString('base64')}\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`;
    const answers = async (count: number) => {
      while ((received.match(/HTTP\/1\.1 200/g) ?? []).length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    socket.write(post(secret));
    await answers(1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // both ends of the first exchange close

    // The listener still keeps the request and the answer (their shapes), but nothing they carried.
    const first = seen[0]!;
    expect(await alive([first.req, first.res, first.body, first.headers])).toEqual([true, true, false, false]);
    const [req, res] = [first.req.deref()!, first.res.deref()!];
    expect(req.rawHeaders).toEqual([]);
    expect(req.headers).toEqual({});
    expect(req.url).toBe('/');
    expect(req.listenerCount('data') + req.listenerCount('end') + req.listenerCount('error') + req.listenerCount('close')).toBe(0);
    expect(res.getHeaderNames()).toEqual([]);
    expect((res as ServerResponse & { _header: unknown })._header).toBeNull();
    expect(JSON.stringify(req.rawTrailers) + JSON.stringify(req.trailers)).not.toContain('S'.repeat(40));

    socket.write(post('second'));
    await answers(2);
    expect(received).toContain(`${cookie}\r\n`);
    expect(received.split(`basic ${form.length}`)).toHaveLength(3);
    socket.destroy();
  });
});
