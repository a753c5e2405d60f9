// Real receivers for what Keygate sends out: an HTTP server recording every request (webhooks,
// the audit HTTP sink) and a TCP syslog listener reading octet-counted frames.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './processes.ts';

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface HttpReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Status for the n-th request (1-based), or 'hang' to never answer; default 204. */
  respond: (n: number, request: ReceivedRequest) => number | 'hang';
  /** How long each answer is held back, in ms (a slow receiver: deliveries stay in flight). */
  delayMs: number;
  /** Requests received and not answered yet. */
  inFlight(): number;
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startHttpReceiver(host = '127.0.0.1'): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let unanswered = 0;
  const receiver = {
    respond: (() => 204) as HttpReceiver['respond'],
    delayMs: 0,
    inFlight: () => unanswered,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(request);
      const n = requests.length;
      const status = receiver.respond(n, request);
      if (status === 'hang') return;
      unanswered += 1;
      setTimeout(() => {
        unanswered -= 1;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `failing on purpose (${n})` : '');
      }, receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `http://${host}:${port}/hook`,
    port,
    requests,
    async waitForRequests(count: number, timeoutMs = 15_000) {
      await waitFor(async () => requests.length >= count, timeoutMs, `${count} requests at the receiver (got ${requests.length})`);
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** The event a webhook request carries, verified with the standardwebhooks reference package (throws if forged). */
export function verifiedEvent(secret: string, request: ReceivedRequest): { id: string; type: string; timestamp: string; data: Record<string, any> } {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as never;
}

export interface SyslogListener {
  url: string;
  /** Every framed message received, in order, across connections. */
  messages: string[];
  close(): Promise<void>;
}

/** RFC 6587 octet counting: `<length> <message>` repeated; over TLS (RFC 5425) when given a key and certificate. */
export async function startSyslogListener(tlsOptions?: { key: Buffer; cert: Buffer }): Promise<SyslogListener> {
  const messages: string[] = [];
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space === -1) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (!Number.isInteger(length) || length <= 0) throw new Error(`bad syslog frame length '${buffer.subarray(0, space)}'`);
        if (buffer.length < space + 1 + length) return;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
    socket.on('close', () => sockets.delete(socket));
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${tlsOptions ? 'tls' : 'tcp'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Event timings shortened for tests; only 127.0.0.1 is allowed among private targets (not 127.0.0.2). */
export const FAST_EVENTS = {
  KEYGATE_DELIVER_EVENTS: 'true',
  KEYGATE_EVENTS_POLL_MS: '50',
  KEYGATE_SCHEDULED_EVENTS_INTERVAL_MS: '100',
  KEYGATE_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
  KEYGATE_WEBHOOK_RETRY_BASE_MS: '100',
  KEYGATE_WEBHOOK_RETRY_MAX_MS: '400',
  KEYGATE_WEBHOOK_TIMEOUT_MS: '2000',
  KEYGATE_EVENTS_LEASE_SECONDS: '5',
  KEYGATE_WEBHOOK_DISABLE_AFTER_FAILURES: '4',
  KEYGATE_WEBHOOK_DISABLE_AFTER_SECONDS: '0',
  KEYGATE_DENIAL_SUMMARY_SECONDS: '1',
};
