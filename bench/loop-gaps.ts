// How long an event loop was held during a paced run: a native 1 ms timer
// (perf_hooks.monitorEventLoopDelay) records the time between its ticks, so a gap of many
// milliseconds is the loop held by a collection, by synchronous work, or by the process not
// running at all (the host's scheduler). Measured in the server (through its inspector) and in
// the load generator, it tells whose stall a paced run's tail is: a request due during the load
// generator's gap is sent late and counted late too (latency runs from when it was due).
import { monitorEventLoopDelay, type Histogram } from 'node:perf_hooks';

/** The tick the gaps are measured against, ms: every gap is at least this long. */
export const LOOP_TICK_MS = 1;

export interface LoopGaps {
  /** Ticks recorded in the run. */
  ticks: number;
  /** Gaps between ticks, ms. */
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

function summarise(h: Histogram): LoopGaps {
  return { ticks: h.count, p99Ms: h.percentile(99) / 1e6, p999Ms: h.percentile(99.9) / 1e6, maxMs: h.max / 1e6 };
}

/** Evaluated in the server: starts its monitor. */
export const START_IN_SERVER = `(() => {
  globalThis.__benchLoopGaps?.disable();
  globalThis.__benchLoopGaps = process.getBuiltinModule('perf_hooks').monitorEventLoopDelay({ resolution: ${LOOP_TICK_MS} });
  globalThis.__benchLoopGaps.enable();
  return true;
})()`;

/** Evaluated in the server: stops its monitor and returns the LoopGaps as JSON ('null' if none ran). */
export const STOP_IN_SERVER = `(() => {
  const h = globalThis.__benchLoopGaps;
  if (!h) return 'null';
  globalThis.__benchLoopGaps = undefined;
  h.disable();
  // summarise's own source: Node runs this file with its types stripped, so the text is plain JS.
  return JSON.stringify((${summarise.toString()})(h));
})()`;

/** Starts a monitor in this process; the returned function stops it and summarises. */
export function watchLoopGaps(): () => LoopGaps {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  histogram.enable();
  return () => {
    histogram.disable();
    return summarise(histogram);
  };
}
