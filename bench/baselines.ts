// The baseline servers the targets compare against (bench/servers/*.ts), each a child on the servers' core.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort, startChild, waitFor, type Child } from './children.ts';

export interface Baseline {
  child: Child;
  url: string;
}

export const BARE_CLIENT = { id: 'bench-client', secret: randomBytes(24).toString('base64url') };

const READY_PATH: Record<string, string> = {
  'bare-http': '/',
  ceiling: '/',
  'bare-oidc': '/.well-known/openid-configuration',
};

export type BaselineName = 'bare-http' | 'ceiling' | 'bare-oidc';

export async function startBaseline(name: BaselineName, core: number | undefined, redisUrl: string): Promise<Baseline> {
  const port = await freePort();
  const child = startChild(name, process.execPath, [path.join(import.meta.dirname, 'servers', `${name}.ts`)], {
    core,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      REDIS_URL: redisUrl,
      BARE_CLIENT_ID: BARE_CLIENT.id,
      BARE_CLIENT_SECRET: BARE_CLIENT.secret,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(name, async () => (await fetch(`${url}${READY_PATH[name]}`)).ok, 30_000, child);
  return { child, url };
}
