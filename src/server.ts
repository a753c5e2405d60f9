// Listening and draining. SIGTERM: stop accepting, finish in-flight requests, close pools (SPEC §7).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import type { Runtime } from './runtime.ts';

export interface RunningServer {
  server: http.Server;
  port: number;
  /** Stops accepting, waits for in-flight requests, then closes idle keep-alive sockets. */
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, port = runtime.config.port, host = runtime.config.host): Promise<RunningServer> {
  const app = createApp(runtime);
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeIdleConnections();
    }),
  };
}
