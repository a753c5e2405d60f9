// How fast the host was on the servers' core during each measured run, by a yardstick that does
// not depend on what Keygate does: host-probe-worker.ts, pinned to that core, times the same
// memory-bound and arithmetic work once a second in its own CPU time (about 1 % of the core).
// This machine's speed moves by a third within minutes, and the scale ratios divide runs made
// minutes apart: a ratio whose two sides met different probe readings compares two hosts as much
// as two data sets.
import path from 'node:path';
import { startChild, waitFor, type Child } from './children.ts';

export interface HostSpeed {
  /** Median CPU time of one random read through 64 MB, ns. */
  memoryNsPerRead: number;
  /** Median CPU time of one arithmetic step, ns. */
  computeNsPerStep: number;
  samples: number;
}

export interface HostProbe {
  /** Stopped with the bench's other children at the end. */
  child: Child;
  /** The probe's readings between two Date.now() instants; undefined when it took none. */
  between(fromMs: number, toMs: number): HostSpeed | undefined;
}

const WORKER = path.join(import.meta.dirname, 'host-probe-worker.ts');

export async function startHostProbe(core: number | undefined): Promise<HostProbe> {
  const readings: { atMs: number; memoryNs: number; computeNs: number }[] = [];
  let ready = false;
  const child = startChild('host probe', process.execPath, [WORKER], {
    core,
    onStdoutLine(line) {
      let message: { ready?: boolean; atMs?: number; memoryNs?: number; computeNs?: number };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return; // not one of the probe's JSON lines
      }
      if (message.ready) ready = true;
      else if (message.atMs !== undefined) readings.push({ atMs: message.atMs, memoryNs: message.memoryNs!, computeNs: message.computeNs! });
    },
  });
  await waitFor('the host probe', async () => ready, 30_000, child);
  return {
    child,
    between(fromMs, toMs) {
      const inRun = readings.filter((r) => r.atMs >= fromMs && r.atMs <= toMs);
      if (inRun.length === 0) return undefined;
      return {
        memoryNsPerRead: median(inRun.map((r) => r.memoryNs)),
        computeNsPerStep: median(inRun.map((r) => r.computeNs)),
        samples: inRun.length,
      };
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
