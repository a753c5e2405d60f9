/** `90d`, `12h`, `30m`, `45s` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([dhms])$/.exec(text.trim());
  if (!match) throw new Error(`'${text}' is not a duration like 90d, 12h, 30m or never`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[match[2] as 'd' | 'h' | 'm' | 's'];
  return Number(match[1]) * unit;
}
