// A size-bounded map whose entries each expire on their own. At the bound it makes room by
// dropping expired entries first and only then the least recently written one: never by clearing
// everything, which would forget every live entry (a lockout, a count) at once.

export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** No entry expires before this time: a sweep earlier than it would find nothing. */
  #earliestExpiry = Infinity;

  /** `now` returns milliseconds since the epoch (Date.now unless a test passes a clock). */
  constructor(maxEntries: number, now: () => number = Date.now) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error('ExpiringMap: maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value for `key`, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (ms since the epoch) as the most recently written entry. */
  set(key: string, value: V, expiresAt: number): void {
    if (!this.#entries.delete(key) && this.#entries.size >= this.#maxEntries) this.#makeRoom();
    this.#entries.set(key, { value, expiresAt });
    if (expiresAt < this.#earliestExpiry) this.#earliestExpiry = expiresAt;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #makeRoom(): void {
    const now = this.#now();
    // A full sweep only once something may have expired. Callers expire entries at window ends,
    // which are few distinct times, so a full map sweeps a few times per window, not per write.
    if (now >= this.#earliestExpiry) {
      let earliest = Infinity;
      for (const [key, entry] of this.#entries) {
        if (entry.expiresAt <= now) this.#entries.delete(key);
        else if (entry.expiresAt < earliest) earliest = entry.expiresAt;
      }
      this.#earliestExpiry = earliest;
    }
    // Everything is live: the least recently written entry goes (Map keeps insertion order).
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
