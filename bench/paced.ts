// Fixed-rate load for the latency runs. autocannon's rate limit lets each connection send its
// share of a second back to back, so a "500 req/s" run is a burst every second; here requests are
// started at even intervals over a keep-alive pool, and each latency is taken from the moment the
// request was due (so a slow server cannot hide queueing: no coordinated omission). The pool
// outlives a run: a lead-in at the same rate opens the connections a client at that rate holds,
// so the measured run does not start with connection set-ups a steady client does not make.
import http from 'node:http';

export interface PacedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface PacedResult {
  durationSeconds: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** ms, one per answered request. */
  latencies: number[];
}

export interface PacedClient {
  run(options: { rate: number; seconds: number; next: () => PacedRequest }): Promise<PacedResult>;
  close(): void;
}

/** A keep-alive pool of at most `connections` to `url`, for one paced run after another. */
export function pacedClient(url: string, connections: number): PacedClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  return { run: (options) => paced(url, agent, options), close: () => agent.destroy() };
}

async function paced(url: string, agent: http.Agent, options: { rate: number; seconds: number; next: () => PacedRequest }): Promise<PacedResult> {
  const { hostname, port } = new URL(url);
  const result: PacedResult = { durationSeconds: options.seconds, statusCodes: {}, errors: 0, timeouts: 0, latencies: [] };
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();

  const send = (due: number) => {
    const request = options.next();
    const done = new Promise<void>((resolve) => {
      const req = http.request({ agent, hostname, port, method: request.method, path: request.path, headers: request.headers, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          result.statusCodes[res.statusCode!] = (result.statusCodes[res.statusCode!] ?? 0) + 1;
          result.latencies.push(performance.now() - due);
          resolve();
        });
      });
      req.on('timeout', () => {
        result.timeouts += 1;
        req.destroy();
      });
      req.on('error', () => {
        result.errors += 1;
        resolve();
      });
      req.end(request.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Every request that is due by now goes out now (timers fire late by a millisecond or so).
    while (i < total && started + i * intervalMs <= now) send(started + i++ * intervalMs);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + i * intervalMs - performance.now())));
  }
  await Promise.all(inFlight);
  return result;
}
