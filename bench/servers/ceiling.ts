// Baseline 4, the "ceiling": a Koa app answering each request with one ioredis GET of
// a fixed key from the same Redis Keygate uses. No introspection can be faster than this.
import http from 'node:http';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { listen } from './listen.ts';

const KEY = 'bench:ceiling';

const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
await redis.set(KEY, JSON.stringify({ active: true, scope: 'devices:read devices:write' }));
const app = new Koa();
app.use(async function answer(ctx) {
  ctx.type = 'json';
  ctx.body = await redis.get(KEY);
});
const server = http.createServer(app.callback());
server.keepAliveTimeout = 65_000;
listen(server, async () => void (await redis.quit()));
