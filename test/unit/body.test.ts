// readRawBody over real loopback HTTP: whole bodies resolve, oversized ones are refused, and a
// caller that goes away mid-body rejects (it must not hang, or resolve with half a body).
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readRawBody } from '../../src/http/body.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that reads each body with `limit` and reports what readRawBody settled with. */
async function serveReads(limit: number) {
  const outcomes: Array<{ ok: true; body: string } | { ok: false; error: unknown }> = [];
  let notify: () => void = () => {};
  server = createServer((req: IncomingMessage, res) => {
    readRawBody(req, limit)
      .then(
        (body) => outcomes.push({ ok: true, body: body.toString('utf8') }),
        (error: unknown) => outcomes.push({ ok: false, error }),
      )
      .finally(() => {
        notify();
        if (!res.destroyed) res.end('done');
      });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const settled = () =>
    new Promise<void>((resolve) => {
      if (outcomes.length) resolve();
      else notify = resolve;
    });
  return { port, outcomes, settled };
}

function send(port: number, chunks: string[], options: { declaredLength?: number; abortAfterChunks?: boolean } = {}) {
  return new Promise<string>((resolve) => {
    const req = request(
      { port, host: '127.0.0.1', method: 'POST', path: '/', headers: options.declaredLength === undefined ? {} : { 'content-length': options.declaredLength } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', () => resolve('connection closed'));
    for (const chunk of chunks) req.write(chunk);
    if (options.abortAfterChunks) setTimeout(() => req.destroy(), 50);
    else req.end();
  });
}

describe('readRawBody', () => {
  it('resolves with the whole body, sent in pieces', async () => {
    const { port, outcomes } = await serveReads(1024);
    expect(await send(port, ['grant_type=', 'client_credentials'])).toBe('done');
    expect(outcomes).toEqual([{ ok: true, body: 'grant_type=client_credentials' }]);
  });

  it('refuses a body over the limit, whether or not its length was declared', async () => {
    const { port, outcomes } = await serveReads(8);
    await send(port, ['0123456789'], { declaredLength: 10 });
    await send(port, ['01234', '56789']);
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(false);
      expect(outcome).toMatchObject({ error: { code: 'payload_too_large' } });
    }
  });

  it('rejects when the caller goes away before the body is complete', async () => {
    const { port, outcomes, settled } = await serveReads(1024);
    await send(port, ['grant_type=client'], { declaredLength: 100, abortAfterChunks: true });
    await settled();
    expect(outcomes).toHaveLength(1);
    // Node reports it as an 'aborted' error, or as 'close' alone: either way, no body.
    expect(outcomes[0]!.ok).toBe(false);
  });
});
