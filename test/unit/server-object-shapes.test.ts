// V8 sizes the objects a constructor makes by the shapes its first few reached, counting only
// shapes a live object still has; a replica whose first requests were a few readiness probes
// with full collections between them could have every later request and response fall into the
// slow dictionary layout for life. The listener keeps its first request and response alive so
// that cannot happen. Each count of first requests runs in a fresh process (the layouts are
// decided once per process), with the collections forced while no request is in flight.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROBE = fileURLToPath(new URL('../support/object-shapes-probe.ts', import.meta.url));

function probe(warm: number): Promise<{ warm: number; request: boolean; response: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--allow-natives-syntax', '--expose-gc', PROBE, String(warm)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`probe exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!));
    });
  });
}

describe('the listener and V8 object layouts', () => {
  it('requests and responses keep the fast layout after collections that found none of the first few alive, however many came first', async () => {
    const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const results = [];
    // Two at a time: each is a Node process importing the app.
    for (let i = 0; i < counts.length; i += 2) results.push(...(await Promise.all(counts.slice(i, i + 2).map(probe))));
    expect(results).toEqual(counts.map((warm) => ({ warm, request: true, response: true })));
  }, 120_000);
});
