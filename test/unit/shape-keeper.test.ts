// A listener holds its first fully answered exchange while V8 settles the layout of requests and
// responses, and lets it go after KEPT_UNTIL_REQUESTS requests. Only its shapes are held: soon
// after the exchange is over, nothing a client sent or was sent back stays reachable through it,
// however quiet the listener is, and an abandoned exchange whose handler is still at work is
// neither kept nor emptied. (That holding one prevents the slow layout is
// test/unit/server-object-shapes.test.ts.)
import http, { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { FORGET_AFTER_CLOSE_MS, KEPT_UNTIL_REQUESTS, shapeKeeper } from '../../src/http/shape-keeper.ts';
import { readRawBody } from '../../src/http/body.ts';
import { listen } from '../../src/server.ts';
import { waitFor } from '../support/processes.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the objects behind `refs` survive a full collection (weak references clear only between jobs). */
async function alive(refs: WeakRef<object>[]): Promise<boolean[]> {
  await sleep(0);
  gc();
  return refs.map((ref) => ref.deref() !== undefined);
}

/** A request and its response, as a listener would see them, without a connection. */
function exchange(): [IncomingMessage, ServerResponse] {
  const req = new IncomingMessage(new net.Socket());
  return [req, new ServerResponse(req)];
}

/**
 * Every string, and every byte array as text, reachable from `roots` through own properties
 * (symbols too; not prototypes, which every request shares, and not closures, which no walk sees).
 */
function reachableText(roots: object[]): string[] {
  const seen = new Set<object>(roots);
  const pending = [...roots];
  const text: string[] = [];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (ArrayBuffer.isView(current)) {
      text.push(Buffer.from(current.buffer, current.byteOffset, current.byteLength).toString('latin1'));
      continue;
    }
    for (const key of Reflect.ownKeys(current)) {
      const value = Object.getOwnPropertyDescriptor(current, key)?.value as unknown;
      if (typeof value === 'string') text.push(value);
      else if (typeof value === 'object' && value !== null && !seen.has(value)) {
        seen.add(value);
        pending.push(value);
      }
    }
    if (seen.size > 100_000) throw new Error('the kept pair reaches far more than an exchange');
  }
  return text;
}

/** What the listener does once an answer is written in full. */
const answered = ([, res]: [IncomingMessage, ServerResponse]) => res.emit('finish');

describe('shapeKeeper', () => {
  it(`holds the first answered exchange through ${KEPT_UNTIL_REQUESTS} requests, and lets it go after`, async () => {
    const see = shapeKeeper();
    const refs = (() => {
      const first = exchange();
      see(...first);
      answered(first);
      return first.map((o) => new WeakRef(o));
    })();
    for (let i = 1; i < KEPT_UNTIL_REQUESTS; i++) see(...exchange());
    expect(await alive(refs)).toEqual([true, true]);
    see(...exchange());
    expect(await alive(refs)).toEqual([false, false]);
  });

  it('keeps one exchange only: later ones are never held', async () => {
    const see = shapeKeeper();
    const first = exchange();
    see(...first);
    answered(first);
    const refs = (() => {
      const second = exchange();
      see(...second);
      answered(second);
      return second.map((o) => new WeakRef(o));
    })();
    expect(await alive(refs)).toEqual([false, false]);
  });

  it('does not keep an exchange that was never answered in full, and keeps the next one that is', async () => {
    const see = shapeKeeper();
    const refs = (() => {
      const abandoned = exchange();
      const next = exchange();
      see(...abandoned);
      see(...next);
      answered(next);
      return [...abandoned, ...next].map((o) => new WeakRef(o));
    })();
    expect(await alive(refs)).toEqual([false, false, true, true]);
  });
});

describe('the exchange a listener keeps', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  const secret = `kgs_${'S'.repeat(40)}`;
  const cookie = `kg_session=${'C'.repeat(40)}`;
  const form = `grant_type=client_credentials&client_secret=${secret}`;
  const post = (auth: string) =>
    `POST /oauth/token?client_secret=${auth} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic ${Buffer.from(`kg_id:${auth}`).toString('base64')}\r\n`
    + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`;

  interface Seen {
    req: WeakRef<IncomingMessage>;
    res: WeakRef<ServerResponse>;
    body: WeakRef<Buffer>;
    headers: WeakRef<object>;
    /** The Authorization header as the handler read it after its body, and after any wait. */
    authorization: string | undefined;
  }

  /**
   * A listener made by Keygate's listen() whose handler does what Keygate's routes do (Koa's path
   * and query, the body through readRawBody, the headers parsed) and answers with a cookie, after
   * `wait` if given. Only weak references leave the handler: what stays alive is what the listener
   * keeps.
   */
  async function listener(wait?: (index: number) => Promise<void>) {
    const seen: Seen[] = [];
    const app = new Koa();
    app.use(async (ctx) => {
      const { req, res } = ctx;
      const index = seen.length;
      const entry: Seen = {
        req: new WeakRef(req),
        res: new WeakRef(res),
        body: new WeakRef(Buffer.alloc(0)),
        headers: new WeakRef(req.headers),
        authorization: undefined,
      };
      seen.push(entry);
      if (ctx.path !== '/oauth/token' || typeof ctx.query.client_secret !== 'string') throw new Error('the test sends its secret in the query');
      const body = await readRawBody(req);
      entry.body = new WeakRef(body);
      await wait?.(index);
      entry.authorization = ctx.get('authorization') || undefined;
      ctx.set('Set-Cookie', cookie);
      ctx.body = `${entry.authorization === undefined ? 'none' : 'basic'} ${body.length}`;
    });
    const running = await listen((ServerResponse) => http.createServer({ ServerResponse }, app.callback()), 0, '127.0.0.1');
    close = running.close;
    return { seen, port: (running.server.address() as AddressInfo).port };
  }

  function connection(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    return {
      socket,
      received: () => received,
      answers: (count: number) => waitFor(async () => (received.match(/HTTP\/1\.1 200/g) ?? []).length >= count, 5000, `${count} answers`),
    };
  }

  it("holds none of the first client's secret, body, cookie or connection once it is over, and the connection serves on", async () => {
    const { seen, port } = await listener();
    const client = connection(port);
    client.socket.write(post(secret));
    await client.answers(1);
    await sleep(FORGET_AFTER_CLOSE_MS + 200);

    // The listener still keeps the request and the answer (their shapes), but nothing they carried.
    const first = seen[0]!;
    expect(await alive([first.req, first.res, first.body, first.headers])).toEqual([true, true, false, false]);
    const [req, res] = [first.req.deref()!, first.res.deref()!];
    expect(req.rawHeaders).toEqual([]);
    expect(req.headers).toEqual({});
    expect(req.url).toBe('/');
    expect(req.socket).toBeNull();
    expect(req.listenerCount('data') + req.listenerCount('end') + req.listenerCount('error') + req.listenerCount('close')).toBe(0);
    expect(res.getHeaderNames()).toEqual([]);
    expect((res as ServerResponse & { _header: unknown })._header).toBeNull();
    // Nothing reachable from the pair holds the secret or the cookie, wherever Node or Koa put it.
    const text = reachableText([req, res]);
    expect(text.filter((t) => t.includes('S'.repeat(40)) || t.includes('C'.repeat(40)))).toEqual([]);

    client.socket.write(post('second'));
    await client.answers(2);
    expect(client.received().split(`${cookie}\r\n`)).toHaveLength(3);
    expect(client.received().split(`basic ${form.length}`)).toHaveLength(3);
    expect(seen[1]!.authorization).toBe(`Basic ${Buffer.from('kg_id:second').toString('base64')}`);
    client.socket.destroy();
  });

  it('leaves an exchange its client abandoned to its handler, unkept, and keeps the next answered one', async () => {
    let release!: () => void;
    const firstWaits = new Promise<void>((resolve) => (release = resolve));
    const { seen, port } = await listener((index) => (index === 0 ? firstWaits : Promise.resolve()));
    const abandoning = connection(port);
    abandoning.socket.write(post(secret));
    await waitFor(async () => seen[0]?.body.deref()?.length === form.length, 5000, 'the first body read');
    abandoning.socket.destroy();
    await sleep(FORGET_AFTER_CLOSE_MS + 200);
    // The handler, still at work, reads the request as it came.
    release();
    await sleep(20);
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from(`kg_id:${secret}`).toString('base64')}`);
    expect(await alive([seen[0]!.req, seen[0]!.res])).toEqual([false, false]);

    const next = connection(port);
    next.socket.write(post('second'));
    await next.answers(1);
    expect(await alive([seen[1]!.req, seen[1]!.res])).toEqual([true, true]);
    next.socket.destroy();
  });
});
