// CPU profiles of exactly the measured runs: with BENCH_CPU_PROF=1 the Keygate server starts with
// its inspector on a loopback port, and this process drives V8's profiler over the DevTools
// protocol (Profiler.start when the measured run begins, Profiler.stop when it ends).
import { writeFileSync } from 'node:fs';

export interface Profiler {
  start(): Promise<void>;
  /** Stops, writes the .cpuprofile to `file`. */
  stop(file: string): Promise<void>;
  close(): void;
}

export async function connectProfiler(inspectorPort: number): Promise<Profiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 1000 }); // µs, as node --cpu-prof
  return {
    start: async () => void (await send('Profiler.start')),
    async stop(file) {
      const { profile } = (await send('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
    },
    close: () => socket.close(),
  };
}
