// The audit log, streamed to the operator's sinks as it is written: every record is queued in the
// outbox for each sink in the statement that writes it (stores/audit.ts), sent in batches, and
// removed only once the sink took it. A batch that fails is retried (the same records, the same
// ids: a sink deduplicates on `id`); a replica dying mid-batch leaves it leased until the lease
// runs out, then another replica sends it. Order holds within a batch, not across replicas.
import os from 'node:os';
import type { Logger } from 'pino';
import type { EventMetrics } from '../shared/metrics.ts';
import type { OutboxRow, OutboxStore } from '../stores/outbox.ts';
import { retryDelayMs, type Backoff } from './backoff.ts';
import { resolveTarget } from './outbound-target.ts';
import { postTo, succeeded } from './post.ts';
import { createSyslogConnection, type SyslogConnection } from './syslog.ts';

const BATCH = 500;

export const HTTP_SINK = 'sink:http';
export const SYSLOG_SINK = 'sink:syslog';

/** The outbox destinations the configured sinks read. */
export function sinkDestinations(sinks: { http?: string; syslog?: string }): string[] {
  return [...(sinks.http ? [HTTP_SINK] : []), ...(sinks.syslog ? [SYSLOG_SINK] : [])];
}

/** An audit record as sinks receive it: the admin API's shape. */
export function auditRecordOf(row: OutboxRow): Record<string, unknown> {
  const record = row.payload as Record<string, unknown>;
  return { ...record, id: String(record.id), at: new Date(record.at as string).toISOString() };
}

/** RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`; authpriv, info for successes, warning for denials. */
export function syslogMessage(record: Record<string, unknown>, hostname = os.hostname()): string {
  const severity = record.outcome === 'denied' ? 4 : 6;
  const msgId =
    String(record.action)
      .replace(/[^\x21-\x7e]/g, '_')
      .slice(0, 32) || '-';
  const host = hostname.replace(/[^\x21-\x7e]/g, '_').slice(0, 255) || '-';
  return `<${10 * 8 + severity}>1 ${record.at} ${host} keygate ${process.pid} ${msgId} - ${JSON.stringify(record)}`;
}

interface Sender {
  send(records: Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

function httpSender(url: string, timeoutMs: number, ca: Buffer | undefined): Sender {
  return {
    async send(records) {
      const body = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
      const result = await postTo(await resolveTarget(url, 'any'), { 'content-type': 'application/x-ndjson' }, body, timeoutMs, ca);
      if (!succeeded(result)) throw new Error(`the audit sink answered ${result.status ?? result.error}`);
    },
    async close() {},
  };
}

function syslogSender(url: string, timeoutMs: number, ca: Buffer | undefined): Sender {
  let connection: SyslogConnection | undefined;
  return {
    async send(records) {
      connection ??= await createSyslogConnection(url, timeoutMs, ca);
      try {
        await connection.write(records.map((record) => syslogMessage(record)));
      } catch (error) {
        connection.destroy();
        connection = undefined;
        throw error;
      }
    },
    async close() {
      connection?.destroy();
    },
  };
}

export function createAuditStream(deps: {
  outbox: OutboxStore;
  sinks: { http?: string; syslog?: string };
  /** Certificate authorities for the sinks' TLS, instead of the system's. */
  ca?: Buffer;
  timeoutMs: number;
  leaseSeconds: number;
  backoff: Backoff;
  metrics: EventMetrics;
  log: Logger;
}) {
  const senders: [string, Sender][] = [
    ...(deps.sinks.http ? [[HTTP_SINK, httpSender(deps.sinks.http, deps.timeoutMs, deps.ca)] as [string, Sender]] : []),
    ...(deps.sinks.syslog ? [[SYSLOG_SINK, syslogSender(deps.sinks.syslog, deps.timeoutMs, deps.ca)] as [string, Sender]] : []),
  ];

  async function sendBatch(destination: string, sender: Sender): Promise<number> {
    const rows = await deps.outbox.lease(destination, BATCH, deps.leaseSeconds);
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => row.id);
    try {
      await sender.send(rows.map(auditRecordOf));
      await deps.outbox.remove(ids);
      deps.metrics.auditStreamed.inc({ sink: destination, outcome: 'sent' }, rows.length);
    } catch (error) {
      deps.metrics.auditStreamed.inc({ sink: destination, outcome: 'failed' }, rows.length);
      deps.log.warn({ sink: destination, err: error }, 'audit sink failed; the batch will be retried');
      await deps.outbox.retryLater(ids, retryDelayMs(deps.backoff, Math.max(...rows.map((row) => row.attempts))));
      return 0;
    }
    return rows.length;
  }

  return {
    /** Sends one batch to each sink; returns how many records went out. */
    async once(): Promise<number> {
      let sent = 0;
      for (const [destination, sender] of senders) sent += await sendBatch(destination, sender);
      return sent;
    },
    async close(): Promise<void> {
      for (const [, sender] of senders) await sender.close();
    },
  };
}
