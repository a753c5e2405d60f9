// Listening and draining. SIGTERM: stop accepting, finish in-flight requests, close pools.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { shapeKeeper } from './http/shape-keeper.ts';
import type { Runtime } from './runtime.ts';

/** How long a keep-alive socket that is idle when draining starts may still deliver a request. */
const IDLE_GRACE_MS = 250;

export interface RunningServer {
  server: http.Server;
  port: number;
  /** The TLS listener's port, when one is configured (KEYGATE_TLS_PORT). */
  tlsPort: number | undefined;
  /** Stops accepting, answers what is in flight or on the wire, then closes every keep-alive socket. */
  close(): Promise<void>;
}

/**
 * A request's head and body must arrive within seconds: no request Keygate takes is larger than
 * 16 KiB, and a client that sends a head or a body slowly, or stops halfway, would otherwise hold
 * its connection and its memory for Node's default five minutes. Node answers 408 and closes;
 * it looks for late requests every REQUEST_DEADLINES.connectionsCheckingInterval. An answer that
 * takes long to send (an audit export) is not limited: these bound receiving only.
 */
const REQUEST_DEADLINES = { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 2_000 };

export async function startServer(runtime: Runtime, port = runtime.config.port, host = runtime.config.host): Promise<RunningServer> {
  const { handleRequest } = createApp(runtime);
  const plain = await listen((ServerResponse) => http.createServer({ ServerResponse, ...REQUEST_DEADLINES }, handleRequest), port, host);
  const { tls } = runtime.config;
  // The same app behind Keygate's own TLS: every client is asked for a certificate, none is
  // refused for lacking one or for its issuer (a self-signed one is a credential too); the token
  // endpoint decides what a certificate proves (oauth/policy/certificate.ts).
  const secure = tls
    ? await listen(
        (ServerResponse) =>
          https.createServer(
            {
              cert: readFileSync(tls.certFile),
              key: readFileSync(tls.keyFile),
              requestCert: true,
              rejectUnauthorized: false,
              ServerResponse,
              ...REQUEST_DEADLINES,
            },
            handleRequest,
          ),
        tls.port,
        host,
      ).catch(async (error: unknown) => {
        await plain.close();
        throw error;
      })
    : undefined;
  return {
    server: plain.server,
    port: plain.port,
    tlsPort: secure?.port,
    close: async () => {
      await Promise.all([plain.close(), secure?.close()]);
    },
  };
}

/**
 * `create` makes the server with the response class it is given: one that says `Connection: close`
 * once this listener drains. Exported for the test of how V8 lays out its requests and responses.
 */
export async function listen(
  create: (ServerResponse: typeof http.ServerResponse) => http.Server,
  port: number,
  host: string,
): Promise<Omit<RunningServer, 'tlsPort'>> {
  let draining = false;
  const server = create(drainAwareResponse(() => draining));
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts
  const keepShapes = shapeKeeper();
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    countRequest(req);
    keepShapes(req, res);
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

/**
 * Requests read on a connection, counted on its socket, and each request's place in that count:
 * the answer to the last request read is the one that may close the connection.
 */
const requestsRead = Symbol('requestsRead');
const placeRead = Symbol('placeRead');
type CountingSocket = net.Socket & { [requestsRead]?: number };
type PlacedRequest = http.IncomingMessage & { [placeRead]?: number };

function countRequest(req: http.IncomingMessage): void {
  const socket = req.socket as CountingSocket;
  const place = (socket[requestsRead] ?? 0) + 1;
  socket[requestsRead] = place;
  (req as PlacedRequest)[placeRead] = place;
}

function isLastRead(req: http.IncomingMessage): boolean {
  // A kept request's socket is dropped once its exchange is over (http/shape-keeper.ts).
  return (req as PlacedRequest)[placeRead] === (req.socket as CountingSocket | null)?.[requestsRead];
}

/**
 * Once draining has begun, the answer to the last request read on a connection says
 * `Connection: close` (Node then closes the socket after it), however long before draining its
 * request arrived; answers to earlier pipelined requests do not, even when their heads are
 * written later, so none of them is cut off. The check runs as each head is written (Node writes
 * every head through writeHead, `end()` without one included), so nothing keeps a list of the
 * responses in flight: a set of them, filled and emptied on every request, kept each response
 * alive through garbage collections long enough to be moved to the old generation, which then had
 * to be collected over and over under load.
 */
function drainAwareResponse(isDraining: () => boolean): typeof http.ServerResponse {
  // Node constructs it as it does its own ServerResponse (the generic constructor of the type is
  // the only thing the cast stands for).
  return class DrainAwareResponse extends http.ServerResponse {
    override writeHead(...args: unknown[]): this {
      if (isDraining() && !this.headersSent && isLastRead(this.req)) this.setHeader('Connection', 'close');
      return (http.ServerResponse.prototype.writeHead as (...a: unknown[]) => this).apply(this, args);
    }
  } as typeof http.ServerResponse;
}
