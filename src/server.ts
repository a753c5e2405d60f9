// Listening and draining. SIGTERM: stop accepting, finish in-flight requests, close pools.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import type { Runtime } from './runtime.ts';

/** How long a keep-alive socket that is idle when draining starts may still deliver a request. */
const IDLE_GRACE_MS = 250;

export interface RunningServer {
  server: http.Server;
  port: number;
  /** Stops accepting, answers what is in flight or on the wire, then closes every keep-alive socket. */
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, port = runtime.config.port, host = runtime.config.host): Promise<RunningServer> {
  const server = http.createServer(createApp(runtime).handleRequest);
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts
  // Responses not yet started: when draining begins they are told `Connection: close`.
  const unanswered = new Set<http.ServerResponse>();
  let draining = false;
  server.prependListener('request', (_req, res: http.ServerResponse) => {
    if (draining) {
      res.setHeader('Connection', 'close');
      return;
    }
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Every response from now on ends its connection (Node closes the socket after it), so a
        // keep-alive client sees `Connection: close` and connects anew — to a closed port.
        draining = true;
        for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
        unanswered.clear();
        // Stop listening only. http.Server#close would also destroy every idle keep-alive socket
        // right now — including one whose next request is already on the wire, unread: its client
        // gets a reset for a request it sent before we stopped. So idle sockets get a short grace
        // to deliver that request (answered in full, with `Connection: close`); those still idle
        // after it are closed, and again until the last connection is gone.
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_GRACE_MS);
        net.Server.prototype.close.call(server, (error?: Error) => {
          clearInterval(sweep);
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}
