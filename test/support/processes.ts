// Servers the test run starts itself: children of this process, stopped by PID and awaited
// (PID 1 here does not reap orphans). Only processes started here are ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import net from 'node:net';

import { freePort } from '../../src/embedded/free-port.ts';

export { freePort };

export function which(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path of a server binary the suites need. Missing: installed from Debian's packages when
 * running as root, otherwise the run stops at once with the command that fixes it. Never skipped.
 */
export function ensureInstalled(binary: string, aptPackage: string): string {
  const found = which(binary);
  if (found) return found;
  const command = `apt-get update && apt-get install -y ${aptPackage}`;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is not installed; run: sudo sh -c '${command}'`);
  console.warn(`${binary} is not installed: ${command}`);
  execFileSync('sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = which(binary);
  if (!installed) throw new Error(`${binary} is still missing after: ${command}`);
  return installed;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(binary: string): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    () =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write('PING\r\n');
        });
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
      }),
    10_000,
    'redis-server',
  );
  return { url, port, stop: () => stopChild(child) };
}
