// Every process the bench starts is a child of this one, pinned to a core when taskset exists,
// stopped by its own PID and awaited (PID 1 here does not reap orphans). Nothing else is signalled.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const TASKSET = which('taskset');
const live = new Set<Child>();

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Last few KB of stdout+stderr, for error messages. */
  tail(): string;
}

export function which(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Core pinning is possible: taskset exists and there are at least two CPUs. */
export function canPin(cpuCount: number): boolean {
  return TASKSET !== undefined && cpuCount >= 2;
}

/** Pins every thread of this process (children started afterwards inherit it). */
export function pinSelf(core: number | undefined): void {
  if (core === undefined || !TASKSET) return;
  execFileSync(TASKSET, ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

export function affinityOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Cpus_allowed_list:'));
  return line?.split(':')[1]?.trim() ?? '?';
}

/** taskset execs the command, so the PID returned is the command's own. */
export function startChild(
  name: string,
  command: string,
  args: string[],
  options: {
    core: number | undefined;
    env?: NodeJS.ProcessEnv;
    onStdoutLine?: (line: string) => void;
    /** Gives the child a stdin pipe (child.process.stdin) instead of none. */
    stdin?: boolean;
  },
): Child {
  const [file, argv] = options.core !== undefined && TASKSET ? [TASKSET, ['-c', String(options.core), command, ...args]] : [command, args];
  const child = spawn(file, argv, { env: options.env ?? process.env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let tail = '';
  let partial = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (!options.onStdoutLine) return;
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) options.onStdoutLine(line);
  });
  child.stderr!.on('data', keep);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const handle: Child = { name, process: child, pid: child.pid, tail: () => tail };
  live.add(handle);
  child.once('exit', () => live.delete(handle));
  return handle;
}

export function exited(child: Child): Promise<number | null> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return Promise.resolve(child.process.exitCode);
  return new Promise((resolve) => child.process.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited (and been reaped). */
export async function stopChild(child: Child, graceMs = 15_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const done = exited(child);
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Every child still running, except those in `keep` (stopped later, in order). */
export async function stopAllChildren(keep: ReadonlySet<number> = new Set()): Promise<void> {
  await Promise.all([...live].filter((c) => !keep.has(c.pid)).map((c) => stopChild(c, 5_000)));
}

export { freePort } from '../src/embedded/free-port.ts';

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.process.exitCode !== null || child.process.signalCode !== null)) {
      throw new Error(`${what}: process exited (${child.process.exitCode ?? child.process.signalCode})\n${child.tail()}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${child ? `\n${child.tail()}` : ''}`);
}

/** Resident set size now and at its peak, from /proc/<pid>/status, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS:'), hwm: kb('VmHWM:') };
}

/** user+system CPU ticks of a process (all its threads). */
export function cpuTicksOf(pid: number): number {
  const fields = statFields(pid);
  return fields ? Number(fields[11]) + Number(fields[12]) : 0; // utime, stime (fields 14 and 15); 0 once exited
}

/**
 * user+system CPU ticks of each of a process's threads, summed by thread name (Node's main thread
 * is `MainThread`, V8's helpers for collections and compilation `V8Worker`). A thread that ended
 * takes its ticks with it.
 */
export function threadTicksOf(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName; // exited
  }
  for (const tid of threads) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = fieldsAfterName(stat);
      byName.set(name, (byName.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // ended meanwhile
    }
  }
  return byName;
}

/**
 * CPU ticks of a process and everything under it: its own, its children's that it has reaped
 * (cutime, cstime) and its live children's. Unlike a sum over the children seen at one moment,
 * the difference of two readings counts a child that started or ended in between, such as a
 * Postgres backend opened by a server restarted just before the run.
 */
export function treeCpuTicksOf(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  const ownAndReaped = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return childPidsOf(pid).reduce((sum, child) => sum + cpuTicksOf(child), ownAndReaped);
}

/** The fields of /proc/<pid>/stat after the command name (which is in parentheses and may contain spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    return fieldsAfterName(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited meanwhile
  }
}

/** A /proc stat line's fields after the command name (in parentheses, and it may contain spaces). */
function fieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** PIDs whose parent is `pid` (Postgres backends under the postmaster). Read-only. */
function childPidsOf(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

export const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Busy and steal ticks per CPU (cpu0, cpu1, …) from /proc/stat: everything on the machine, ours or not. */
export function coreTicks(): Map<string, { busy: number; steal: number; total: number }> {
  const cores = new Map<string, { busy: number; steal: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    // user nice system idle iowait irq softirq steal …
    const [user, nice, system, idle, iowait, irq, softirq, steal] = match[2]!.split(/\s+/).map(Number) as number[];
    // Interrupt time is left out of `busy`: it is not charged to any process, so it would read as foreign.
    const busy = user! + nice! + system!;
    cores.set(match[1]!, { busy, steal: steal!, total: busy + irq! + softirq! + idle! + iowait! + steal! });
  }
  return cores;
}
