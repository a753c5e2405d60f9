// Durations as people write them: `90d`, `12h`, `30m`, `45s`, or plain seconds.

const UNIT_SECONDS = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** What a duration looks like (for schemas: the OpenAPI document shows it). */
export const DURATION_PATTERN = /^\d{1,7}[smhd]?$/;
const PARTS = /^(\d{1,7})([smhd]?)$/;

/** Seconds, or undefined when `text` is not a duration. */
export function durationSeconds(text: string): number | undefined {
  const match = PARTS.exec(text.trim());
  return match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : undefined;
}
