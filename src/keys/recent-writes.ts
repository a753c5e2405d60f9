// What the last-use recorder (usage.ts) wrote per key in the last ten minutes: when and from which
// address. Under a fleet-wide burst this holds every key, so it keeps no object per key: a Map from
// client id to a position in three parallel arrays (id, time as an unboxed double, address), in
// write order. Writing a key again appends it and leaves a hole at its old position.

export class RecentWrites {
  readonly #positions = new Map<string, number>();
  #ids: (string | undefined)[] = [];
  #atMs: number[] = [];
  #ips: (string | null)[] = [];
  /** Positions before this one are forgotten. */
  #head = 0;

  get size(): number {
    return this.#positions.size;
  }

  /** Whether `clientId` was written from `ip` less than `withinMs` before `nowMs`. */
  wroteRecently(clientId: string, ip: string | null, nowMs: number, withinMs: number): boolean {
    const at = this.#positions.get(clientId);
    return at !== undefined && this.#ips[at] === ip && nowMs - this.#atMs[at]! < withinMs;
  }

  /** `clientId` was written with its sighting of `atMs` from `ip`: it becomes the newest write. */
  record(clientId: string, atMs: number, ip: string | null): void {
    const previous = this.#positions.get(clientId);
    if (previous !== undefined) this.#ids[previous] = undefined;
    this.#positions.set(clientId, this.#ids.length);
    this.#ids.push(clientId);
    this.#atMs.push(atMs);
    this.#ips.push(ip);
  }

  /** Forgets writes, oldest first, up to the first one less than `withinMs` old. */
  forgetOlderThan(nowMs: number, withinMs: number): void {
    const ids = this.#ids;
    let head = this.#head;
    for (; head < ids.length; head++) {
      const id = ids[head];
      if (id === undefined) continue;
      if (nowMs - this.#atMs[head]! < withinMs) break;
      this.#positions.delete(id);
    }
    this.#head = head;
    // Once at least half the arrays are forgotten, drop that part and renumber what is left: each
    // write is renumbered a few times at most before it is forgotten.
    if (head < 1024 || head * 2 < ids.length) return;
    this.#ids = ids.slice(head);
    this.#atMs = this.#atMs.slice(head);
    this.#ips = this.#ips.slice(head);
    this.#head = 0;
    this.#ids.forEach((id, at) => {
      if (id !== undefined) this.#positions.set(id, at);
    });
  }
}
