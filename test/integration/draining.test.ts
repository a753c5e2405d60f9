// Draining tells keep-alive clients to connect anew: a response whose head is written after
// draining began says `Connection: close`, even when its request arrived before; one written
// before does not. (The shutdown suite covers the whole SIGTERM path of `keygate serve`.)
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const BODY = 'grant_type=client_credentials';

interface Answer {
  status: number | undefined;
  connection: string | undefined;
  body: string;
}

function answerOf(request: http.ClientRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
}

describe('draining', () => {
  let keygate: TestKeygate | undefined;
  let key: CreatedKey;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    key = await keygate.createKey(await keygate.newTenant());
  });
  afterAll(async () => {
    await keygate?.close();
  });

  it('answers a request that arrived before draining began in full, with Connection: close', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = () =>
      http.request({
        host: '127.0.0.1',
        port: keygate!.port,
        path: '/oauth/token',
        method: 'POST',
        agent,
        headers: {
          authorization: basicAuth(key.key.client_id, key.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(BODY.length),
        },
      });

    // Before draining: an ordinary keep-alive answer.
    const first = post();
    const firstAnswer = answerOf(first);
    first.end(BODY);
    expect(await firstAnswer).toMatchObject({ status: 200, connection: 'keep-alive' });

    // Head and half the body on the same socket; draining begins; then the rest of the body.
    const second = post();
    const secondAnswer = answerOf(second);
    second.write(BODY.slice(0, 10));
    await new Promise<void>((resolve) => second.once('socket', () => resolve()));
    const closing = keygate!.close();
    keygate = undefined;
    second.end(BODY.slice(10));
    const answer = await secondAnswer;
    expect(answer).toMatchObject({ status: 200, connection: 'close' });
    expect(JSON.parse(answer.body).access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await closing;
    agent.destroy();
  });
});
