// Failed sign-ins are counted only once the password has been checked, and that check is slow by
// design. Without this guard a burst of parallel guesses would all be checked before the first
// failure was counted. So a process checks at most one password at a time per (email, source),
// and at most a few per source: a burst gets 429 at once, and the failure limits then see every
// guess in turn. Across replicas a burst can be checked at most once per replica beyond the limit,
// the same bound the failure limits already carry.

/** Sign-ins one source may have in flight in one process (people behind one NAT may sign in together). */
export const SIGN_INS_IN_FLIGHT_PER_SOURCE = 4;

export function createSignInsInFlight(perSource = SIGN_INS_IN_FLIGHT_PER_SOURCE) {
  const pairs = new Set<string>();
  const sources = new Map<string, number>();
  return {
    /** Claims a slot for (subject, source), or returns undefined when one is taken; call the result to give it back. */
    claim(subject: string, source: string | null): (() => void) | undefined {
      if (source === null) return () => {};
      const pair = `${subject}|${source}`;
      const busy = sources.get(source) ?? 0;
      if (pairs.has(pair) || busy >= perSource) return undefined;
      pairs.add(pair);
      sources.set(source, busy + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        pairs.delete(pair);
        const left = (sources.get(source) ?? 1) - 1;
        if (left === 0) sources.delete(source);
        else sources.set(source, left);
      };
    },
  };
}

export type SignInsInFlight = ReturnType<typeof createSignInsInFlight>;
