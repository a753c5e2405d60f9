// Run by test/unit/server-object-shapes.test.ts in its own process, with V8's
// --allow-natives-syntax and --expose-gc: a listener made by Keygate's listen() reads `warm`
// requests one at a time, full collections run while none is in flight, more requests follow, and
// it prints whether the last request and response kept V8's fast property layout.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { listen } from '../../src/server.ts';

const warm = Number(process.argv[2]);
let last: [http.IncomingMessage, http.ServerResponse] | undefined;
const listener = await listen(
  (ServerResponse) =>
    http.createServer({ ServerResponse }, (req, res) => {
      last = [req, res];
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    }),
  0,
  '127.0.0.1',
);
const { port } = listener.server.address() as AddressInfo;

/** One request on its own connection, over a raw socket: no client-side IncomingMessage is made. */
const request = () =>
  new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end('GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n'));
    socket.on('data', () => {});
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });

for (let i = 0; i < warm; i++) await request();
last = undefined;
await new Promise((resolve) => setTimeout(resolve, 20));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
for (let i = 0; i < 3; i++) gc();
for (let i = 0; i < 20; i++) await request();
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
const [req, res] = last!;
console.log(JSON.stringify({ warm, request: hasFastProperties(req), response: hasFastProperties(res) }));
await listener.close();
process.exit(0);
