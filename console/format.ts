// Dates and durations as people read them.
const DAY = 86_400_000;

export function dateTime(iso: string | null): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function date(iso: string | null): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** "in 12 days", "expires soon" under 7 days, "expired", "never". */
export function expiry(iso: string | null, now = Date.now()): { text: string; tone: 'ok' | 'soon' | 'expired' | 'never' } {
  if (!iso) return { text: 'never', tone: 'never' };
  const left = new Date(iso).getTime() - now;
  if (left <= 0) return { text: 'expired', tone: 'expired' };
  const days = Math.floor(left / DAY);
  if (days < 7) return { text: 'expires soon', tone: 'soon' };
  return { text: `in ${days} days`, tone: 'ok' };
}

export function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function daysFromNow(days: number, now = Date.now()): string {
  return new Date(now + days * DAY).toISOString();
}
