// The audit log streamed to the operator's sinks as it is written: JSON Lines batches to an HTTP
// receiver and RFC 5424 messages to a real TCP syslog listener. 10,000 records written → 10,000
// streamed to each, none missing, even though the HTTP sink refuses its first batches.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyslogConnection } from '../../src/events/syslog.ts';
import { ensureInstalled, waitFor } from '../support/processes.ts';
import { FAST_EVENTS, startHttpReceiver, startSyslogListener, type HttpReceiver, type SyslogListener } from '../support/receivers.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const RECORDS = 10_000;
const SYSLOG_LINE = /^<(\d+)>1 (\S+) (\S+) keygate (\d+) (\S+) - (\{.*\})$/s;

describe('audit log streaming', () => {
  let keygate: TestKeygate;
  let http: HttpReceiver;
  let syslog: SyslogListener;
  const runId = `stream-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    http = await startHttpReceiver();
    http.respond = (n) => (n <= 2 ? 503 : 200); // the first two batches fail and are retried
    syslog = await startSyslogListener();
    keygate = await startKeygate({
      tokenStore: 'redis',
      deliverEvents: true,
      env: { ...FAST_EVENTS, KEYGATE_AUDIT_SINK_HTTP_URL: http.url, KEYGATE_AUDIT_SINK_SYSLOG: syslog.url },
    });
  });
  afterAll(async () => {
    await keygate?.close();
    await http?.close();
    await syslog?.close();
  });

  const streamedOverHttp = () =>
    http.requests.filter((r) => r.headers['content-type'] === 'application/x-ndjson').flatMap((r) => (r.body.trim() === '' ? [] : r.body.trim().split('\n')));

  it('sends admin changes and denials to syslog as RFC 5424 over TCP, and to HTTP as JSON Lines', async () => {
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId, { networks: ['203.0.113.0/24'] });
    expect((await keygate.token(key)).status).toBe(401);
    const written = (await keygate.runtime.audit.list({ targetKeyId: key.key.client_id })).map((record) => record.id).sort();
    expect(written).toHaveLength(2); // key.create, token.issue denied
    await waitFor(async () => written.every((id) => syslog.messages.some((m) => m.includes(`"id":"${id}"`))), 15_000, 'both records at the syslog listener');
    const parsed = syslog.messages
      .map((message) => SYSLOG_LINE.exec(message))
      .filter((match) => match && JSON.parse(match[6]!).target_key_id === key.key.client_id)
      .map((match) => ({ pri: Number(match![1]), timestamp: match![2]!, msgId: match![5]!, record: JSON.parse(match![6]!) }));
    expect(parsed.map((p) => [p.msgId, p.pri]).sort()).toEqual([
      ['key.create', 86], // authpriv.info
      ['token.issue', 84], // authpriv.warning
    ]);
    for (const { timestamp, record } of parsed) {
      expect(timestamp).toBe(record.at);
      expect(record).toMatchObject({ tenant_id: tenantId, target_key_id: key.key.client_id });
    }
    await waitFor(async () => written.every((id) => streamedOverHttp().some((line) => JSON.parse(line).id === id)), 15_000, 'both records over HTTP');
  });

  it(`streams ${RECORDS} records with none missing, through failed batches`, async () => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < RECORDS; i++) {
      writes.push(keygate.runtime.audit.record({ action: 'test.stream', outcome: 'success', requestId: `${runId}-${i}` }));
      if (writes.length >= 20) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const ours = (line: string) => (JSON.parse(line).request_id as string | null)?.startsWith(`${runId}-`);
    const httpIds = () =>
      new Set(
        streamedOverHttp()
          .filter(ours)
          .map((line) => JSON.parse(line).request_id),
      );
    const syslogIds = () =>
      new Set(
        syslog.messages
          .map((m) => SYSLOG_LINE.exec(m))
          .map((m) => m && JSON.parse(m[6]!).request_id)
          .filter((id) => typeof id === 'string' && id.startsWith(`${runId}-`)),
      );
    await waitFor(async () => httpIds().size === RECORDS && syslogIds().size === RECORDS, 120_000, `${RECORDS} records at both sinks`);
    const expected = new Set(Array.from({ length: RECORDS }, (_, i) => `${runId}-${i}`));
    expect(httpIds()).toEqual(expected);
    expect(syslogIds()).toEqual(expected);
    expect(http.requests.slice(0, 2).every((r) => r.body.length > 0)).toBe(true); // the refused batches carried records
    await waitFor(
      async () => (await keygate.runtime.outbox.depth()).every((d) => !d.destination.startsWith('sink:') || d.count === 0),
      10_000,
      'sinks drained',
    );
  }, 180_000);
});

describe('audit log streaming to syslog over TLS', () => {
  let keygate: TestKeygate;
  let syslog: SyslogListener;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'keygate-syslog-tls-'));
    // A certificate for 127.0.0.1 that no system trusts: only the configured CA file makes it good.
    execFileSync(
      ensureInstalled('openssl', 'openssl'),
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    syslog = await startSyslogListener({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) });
    keygate = await startKeygate({
      tokenStore: 'redis',
      deliverEvents: true,
      env: { ...FAST_EVENTS, KEYGATE_AUDIT_SINK_SYSLOG: syslog.url, KEYGATE_AUDIT_SINK_CA_FILE: path.join(dir, 'cert.pem') },
    });
  });
  afterAll(async () => {
    await keygate?.close();
    await syslog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends RFC 5425 (syslog over TLS), checking the server against the configured CA', async () => {
    expect(syslog.url).toMatch(/^tls:/);
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId);
    await waitFor(async () => syslog.messages.some((m) => m.includes(`"target_key_id":"${key.key.client_id}"`)), 15_000, 'the record over TLS');
    const message = syslog.messages.find((m) => m.includes(`"target_key_id":"${key.key.client_id}"`))!;
    const match = SYSLOG_LINE.exec(message);
    expect(match?.[5]).toBe('key.create');
    expect(JSON.parse(match![6]!)).toMatchObject({ action: 'key.create', tenant_id: tenantId, outcome: 'success' });
    // Without the CA file the same listener is refused: the certificate really is checked.
    await expect(createSyslogConnection(syslog.url, 2000)).rejects.toThrow(/self-signed|certificate/);
  });
});
