// Which commands Redis served that name a suite's keys, seen through MONITOR: the suites that
// count round trips share the run's Redis with every other suite, so they count only their own.
import type { Redis } from 'ioredis';

export interface CommandWatch {
  /** Names of the commands naming `prefix` keys served since the last call, in order. */
  commandsSent(): Promise<string[]>;
  close(): void;
}

export async function watchCommands(redis: Redis, prefix: string): Promise<CommandWatch> {
  const seen: string[][] = [];
  const monitor = await redis.duplicate().monitor();
  monitor.on('monitor', (_time: string, args: unknown[]) => {
    const text = args.map(String);
    if (text.some((a) => a.startsWith(prefix))) seen.push(text);
  });
  const markers = `${prefix}marker:`;
  return {
    async commandsSent() {
      // A marker command: everything sent before it has been seen once it is.
      const marker = `${markers}${Math.random()}`;
      await redis.exists(marker);
      while (!seen.some((args) => args.includes(marker))) await new Promise((r) => setTimeout(r, 5));
      const names = seen.filter((args) => !args.some((a) => a.startsWith(markers))).map((args) => args[0]!.toLowerCase());
      seen.length = 0;
      return names;
    },
    close: () => monitor.disconnect(),
  };
}
