// Whether a key snapshot read again from the database says exactly what the one in memory says.
// A rewarm of the key cache re-reads every key every few minutes; keeping the snapshot it already
// holds when nothing changed keeps what was remembered about that object (the secret that matched
// it), where a fresh copy would make every key of a large fleet prove its secret again.
// The comparison is by value over every field, whatever fields a snapshot gains later, and it
// errs towards "changed": a value it cannot compare (a Map, a Set, binary data) counts as
// different unless it is the very same object.
import type { KeySnapshot } from './model.ts';

export function sameSnapshot(held: KeySnapshot, fresh: KeySnapshot): boolean {
  return sameValue(held, fresh);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((item, i) => sameValue(item, (b as unknown[])[i]));
  if (a instanceof Map || a instanceof Set || ArrayBuffer.isView(a) || a instanceof ArrayBuffer) return false;
  const fields = Object.keys(a);
  if (fields.length !== Object.keys(b).length) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return fields.every((field) => Object.hasOwn(y, field) && sameValue(x[field], y[field]));
}
