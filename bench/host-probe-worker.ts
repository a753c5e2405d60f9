// The host probe's process (host-probe.ts): pinned to the servers' core, once a second it times a
// fixed piece of work in its own CPU time and prints one JSON line. Two kinds: random reads through
// 64 MB (a chain of indices in random order, so every read waits on memory: what this VM's share
// of the machine's caches and memory gives a process whose data does not fit in them), and a
// short arithmetic loop that stays in registers (what its share of the core gives). The work is
// the same in every sample, so a slower sample is a slower host, not slower code.
const READS = 50_000;
const STEPS = 1_000_000;
const INTERVAL_MS = 1000;

// One cycle through every slot (Sattolo's shuffle), so the chain never settles into a short loop.
const slots = 16 * 1024 * 1024;
const next = new Int32Array(slots);
for (let i = 0; i < slots; i++) next[i] = i;
for (let i = slots - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * i);
  const t = next[i]!;
  next[i] = next[j]!;
  next[j] = t;
}

let at = 0;
let sink = 0;

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function measure() {
  const start = cpuMicros();
  for (let i = 0; i < READS; i++) at = next[at]!;
  const read = cpuMicros();
  let x = at | 1;
  for (let i = 0; i < STEPS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  sink ^= x;
  const done = cpuMicros();
  // The sink's last bit goes out with the reading, so neither loop can be compiled away.
  return { atMs: Date.now(), memoryNs: ((read - start) * 1000) / READS, computeNs: ((done - read) * 1000) / STEPS, sink: sink & 1 };
}

function sample(): void {
  const line = measure();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

measure(); // once before the readings count: the loops are compiled by then
setInterval(sample, INTERVAL_MS);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
