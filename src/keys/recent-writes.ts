// What the last-use recorder (usage.ts) sent per key recently: when, from which address, and
// when it last saw the key from that address since (a sighting the write covered, not sent).
// Under a fleet-wide burst this holds every key, so it keeps no object per key: a Map from client
// id to a position in parallel arrays (id, times as unboxed doubles, address), in write order.
// Writing a key again appends it and leaves a hole at its old position.

export class RecentWrites {
  readonly #positions = new Map<string, number>();
  #ids: (string | undefined)[] = [];
  #atMs: number[] = [];
  #ips: (string | null)[] = [];
  #seenMs: number[] = [];
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

  /**
   * Whether a write of `clientId` from `ip` less than `withinMs` before `nowMs` covers a sighting
   * at `nowMs`; if so, the sighting is remembered as the key's latest from that address.
   */
  covers(clientId: string, ip: string | null, nowMs: number, withinMs: number): boolean {
    const at = this.#positions.get(clientId);
    if (at === undefined || this.#ips[at] !== ip || nowMs - this.#atMs[at]! >= withinMs) return false;
    this.#seenMs[at] = nowMs;
    return true;
  }

  /** The address `clientId` was last written from and its latest sighting from there, if remembered. */
  latest(clientId: string): { ip: string | null; seenMs: number } | undefined {
    const at = this.#positions.get(clientId);
    return at === undefined ? undefined : { ip: this.#ips[at]!, seenMs: this.#seenMs[at]! };
  }

  /** `clientId` was written with its sighting of `atMs` from `ip`: it becomes the newest write. */
  record(clientId: string, atMs: number, ip: string | null): void {
    this.forget(clientId);
    this.#positions.set(clientId, this.#ids.length);
    this.#ids.push(clientId);
    this.#atMs.push(atMs);
    this.#ips.push(ip);
    this.#seenMs.push(atMs);
  }

  /** Drops what is remembered of `clientId`: its next sighting is sent. */
  forget(clientId: string): void {
    const at = this.#positions.get(clientId);
    if (at === undefined) return;
    this.#ids[at] = undefined;
    this.#positions.delete(clientId);
  }

  /** Drops everything: every key's next sighting is sent. */
  clear(): void {
    this.#positions.clear();
    this.#ids = [];
    this.#atMs = [];
    this.#ips = [];
    this.#seenMs = [];
    this.#head = 0;
  }

  /** Array positions in use: live writes, and holes and forgotten writes not yet dropped. */
  get slots(): number {
    return this.#ids.length;
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
    // Once less than half the positions hold live writes, keep only those and renumber them:
    // each write is copied a few times at most before it is forgotten. Counting holes, not only
    // the forgotten head, matters when one early write stays live for the whole window while
    // other keys are written again every flush (a key seen from a new address each time): the
    // head cannot pass the live write, and the holes behind it would pile up for the window.
    if (ids.length < 1024 || this.#positions.size * 2 >= ids.length) return;
    const keptIds: string[] = [];
    const keptAtMs: number[] = [];
    const keptIps: (string | null)[] = [];
    const keptSeenMs: number[] = [];
    for (let at = head; at < ids.length; at++) {
      const id = ids[at];
      if (id === undefined) continue;
      this.#positions.set(id, keptIds.length);
      keptIds.push(id);
      keptAtMs.push(this.#atMs[at]!);
      keptIps.push(this.#ips[at]!);
      keptSeenMs.push(this.#seenMs[at]!);
    }
    this.#ids = keptIds;
    this.#atMs = keptAtMs;
    this.#ips = keptIps;
    this.#seenMs = keptSeenMs;
    this.#head = 0;
  }
}
