import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { postTo } from '../../src/events/post.ts';
import { Webhook } from 'standardwebhooks';
import { createPepperRing, type Pepper } from '../../src/crypto/secret-hash.ts';
import { decryptWebhookSecret, encryptWebhookSecret, generateWebhookSecret, signWebhook } from '../../src/crypto/webhook-secret.ts';
import { retryDelayMs } from '../../src/events/backoff.ts';
import { isAllowedAddress, refusalOfUrl, resolveTarget, TargetRefused } from '../../src/events/outbound-target.ts';
import { syslogMessage } from '../../src/events/audit-stream.ts';
import { EVENT_TYPES, eventTypeOfAction, scopeToReceive } from '../../src/keys/events.ts';
import { parseIp, parseNetworkList } from '../../src/shared/network.ts';

const PEPPER_1: Pepper = { version: 1, secret: Buffer.from('pepper-one-pepper-one-pepper-one-!') };
const PEPPER_2: Pepper = { version: 2, secret: Buffer.from('pepper-two-pepper-two-pepper-two-!') };

describe('webhook signing secrets', () => {
  it('are whsec_ and 32 random bytes, different every time', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  it('are stored encrypted under the pepper, never in clear, and read back after the pepper rotates', () => {
    const secret = generateWebhookSecret();
    const stored = encryptWebhookSecret(createPepperRing([PEPPER_1]), secret);
    expect(stored).toMatch(/^1\$/);
    expect(stored).not.toContain(secret.slice(6));
    expect(decryptWebhookSecret(createPepperRing([PEPPER_2, PEPPER_1]), stored)).toBe(secret);
    expect(() => decryptWebhookSecret(createPepperRing([PEPPER_2]), stored)).toThrow(/no pepper version 1/);
  });

  it('refuse a stored secret that was tampered with', () => {
    const ring = createPepperRing([PEPPER_1]);
    const parts = encryptWebhookSecret(ring, generateWebhookSecret()).split('$');
    const flipped = Buffer.from(parts[2]!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => decryptWebhookSecret(ring, [parts[0], parts[1], flipped.toString('base64url'), parts[3]].join('$'))).toThrow();
  });

  it('sign in the Standard Webhooks format, as the reference implementation verifies it', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'key.created', data: { a: 1 } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signWebhook(secret, 'evt_1', timestamp, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('evt_1', new Date(timestamp * 1000), body));
  });
});

describe('retry delays', () => {
  const backoff = { baseMs: 1000, maxMs: 60_000 };
  it('double per attempt, with jitter over the upper half, up to the cap', () => {
    expect([retryDelayMs(backoff, 1, () => 0), retryDelayMs(backoff, 1, () => 1)]).toEqual([500, 1000]);
    expect([retryDelayMs(backoff, 3, () => 0), retryDelayMs(backoff, 3, () => 1)]).toEqual([2000, 4000]);
    expect(retryDelayMs(backoff, 30, () => 1)).toBe(60_000);
    expect(retryDelayMs(backoff, 1_000, () => 0.5)).toBe(45_000);
  });
});

describe('webhook targets', () => {
  const none = parseNetworkList([]);
  const allowed = parseNetworkList(['127.0.0.1/32', '10.8.0.0/16']);
  if (!none.ok || !allowed.ok) throw new Error('test setup');

  it('allow public unicast addresses and refuse private, loopback, link-local, reserved and multicast ones', () => {
    for (const ip of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) expect(isAllowedAddress(parseIp(ip)!, none.networks), ip).toBe(true);
    const refused = [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '192.0.2.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'ff02::1',
      '2001:db8::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
    ];
    for (const ip of refused) expect(isAllowedAddress(parseIp(ip)!, none.networks), ip).toBe(false);
  });

  it('allow what the operator listed, and only that', () => {
    expect(isAllowedAddress(parseIp('127.0.0.1')!, allowed.networks)).toBe(true);
    expect(isAllowedAddress(parseIp('10.8.3.4')!, allowed.networks)).toBe(true);
    expect(isAllowedAddress(parseIp('127.0.0.2')!, allowed.networks)).toBe(false);
    expect(isAllowedAddress(parseIp('10.9.0.1')!, allowed.networks)).toBe(false);
  });

  it('take http(s) URLs without credentials or fragment', () => {
    expect(refusalOfUrl('https://hooks.example.com/keygate?token=x')).toBeUndefined();
    expect(refusalOfUrl('not a url')).toBe('must be an absolute URL');
    expect(refusalOfUrl('file:///etc/passwd')).toBe('must be an http or https URL');
    expect(refusalOfUrl('gopher://example.com/')).toBe('must be an http or https URL');
    expect(refusalOfUrl('https://user:pw@example.com/')).toBe('must not carry credentials');
    expect(refusalOfUrl('https://example.com/#x')).toBe('must not have a fragment');
  });

  it('resolve IP literals without DNS, and connect to the address checked', async () => {
    expect((await resolveTarget('http://127.0.0.1:8080/x', allowed.networks)).addresses).toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(resolveTarget('http://[::ffff:7f00:1]/', none.networks)).rejects.toBeInstanceOf(TargetRefused);
    await expect(resolveTarget('http://0x7f000001/', none.networks)).rejects.toBeInstanceOf(TargetRefused);
    await expect(resolveTarget('http://[fe80::1]/', allowed.networks)).rejects.toThrow(/link-local/);
  });
});

describe('posting to a checked target', () => {
  it('connects to the checked address, never to what the name resolves to now, and keeps the name in Host', async () => {
    const seen: { host?: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ host: req.headers.host, body });
        res.writeHead(200).end('x'.repeat(2000));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      // `rebound.invalid` resolves nowhere: only the pinned address can have been used.
      const target = { url: new URL(`http://rebound.invalid:${port}/hook`), addresses: [{ address: '127.0.0.1', family: 4 as const }] };
      const result = await postTo(target, { 'content-type': 'text/plain' }, 'hello', 2000);
      expect(result).toMatchObject({ status: 200, error: null });
      expect(result.excerpt).toHaveLength(512);
      expect(seen).toEqual([{ host: `rebound.invalid:${port}`, body: 'hello' }]);
    } finally {
      server.close();
    }
  });

  it('gives up after the timeout when the receiver never answers', async () => {
    const server = http.createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const target = { url: new URL(`http://127.0.0.1:${port}/`), addresses: [{ address: '127.0.0.1', family: 4 as const }] };
      expect(await postTo(target, {}, 'x', 200)).toMatchObject({ status: null, error: 'no answer within 200 ms' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('event types', () => {
  it('map every admin change to its event, and nothing else', () => {
    expect(eventTypeOfAction('key.create')).toBe('key.created');
    expect(eventTypeOfAction('tenant.disable')).toBe('tenant.disabled');
    expect(eventTypeOfAction('key.revoke_tokens')).toBeUndefined();
    expect(eventTypeOfAction('token.issue')).toBeUndefined();
    expect(eventTypeOfAction('constructor')).toBeUndefined();
  });

  it('each name the scope that reads it', () => {
    const byScope = Object.groupBy(EVENT_TYPES, scopeToReceive);
    expect(byScope['admin:audit:read']).toEqual(['key.denials']);
    expect(byScope['admin:users:write']).toEqual(['user.created', 'user.updated', 'user.disabled', 'user.enabled', 'user.deleted']);
    expect(byScope['admin:tenants:write']).toEqual(['tenant.created', 'tenant.updated', 'tenant.disabled', 'tenant.enabled', 'webhook.disabled']);
    expect(byScope['admin:keys:read']).toHaveLength(10);
  });
});

describe('syslog messages', () => {
  it('are RFC 5424: authpriv, info for successes and warning for denials, the action as MSGID, the record as JSON', () => {
    const record = { id: '7', at: '2026-12-01T10:00:00.000Z', action: 'token.issue', outcome: 'denied', reason: 'secret_mismatch' };
    expect(syslogMessage(record, 'gate-1')).toBe(`<84>1 2026-12-01T10:00:00.000Z gate-1 keygate ${process.pid} token.issue - ${JSON.stringify(record)}`);
    expect(syslogMessage({ ...record, outcome: 'success' }, 'gate-1')).toMatch(/^<86>1 /);
  });

  it('never let a header field carry spaces or control characters', () => {
    const message = syslogMessage({ at: '2026-12-01T10:00:00.000Z', action: 'a b\nc', outcome: 'success' }, 'my host');
    expect(message).toMatch(/^<86>1 \S+ my_host keygate \d+ a_b_c - /);
  });
});
