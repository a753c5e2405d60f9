// Baseline 6: node:http answering a tiny JSON, for scale (what one core can answer at all).
import http from 'node:http';
import { listen } from './listen.ts';

const body = Buffer.from('{"ok":true}');
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
listen(server);
