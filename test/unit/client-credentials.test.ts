import { describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/http/exchange.ts';
import { presentedCredentials } from '../../src/oauth/client-credentials.ts';

const withAuthorization = (authorization: string): Exchange =>
  ({ get: (name: string) => (name === 'authorization' ? authorization : '') }) as unknown as Exchange;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('client credentials in HTTP Basic (RFC 6749 §2.3.1: form-urlencoded, then base64)', () => {
  it('takes plain ids and secrets as they are', () => {
    expect(presentedCredentials(withAuthorization(basic('kg_abc-DEF_1', 'kgs_x-y_z')), {})).toEqual({
      ok: true,
      clientId: 'kg_abc-DEF_1',
      clientSecret: 'kgs_x-y_z',
    });
  });

  it('decodes percent-encoding and + in either part', () => {
    expect(presentedCredentials(withAuthorization(basic('a%3Ab', 'c+d%2Be%25')), {})).toEqual({ ok: true, clientId: 'a:b', clientSecret: 'c d+e%' });
  });

  it('refuses a part whose percent-encoding is broken', () => {
    expect(presentedCredentials(withAuthorization(basic('id', 'bad%E0%A4%A')), {})).toMatchObject({ ok: false, status: 400, error: 'invalid_request' });
  });
});
