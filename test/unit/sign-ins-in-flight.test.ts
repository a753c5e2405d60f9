// One password check at a time per (email, source), a few per source, so a parallel burst cannot
// outrun the failure count.
import { describe, expect, it } from 'vitest';
import { createSignInsInFlight } from '../../src/console/api/sign-ins-in-flight.ts';

describe('sign-ins in flight', () => {
  it('refuses a second check of one (email, source) until the first is given back', () => {
    const inFlight = createSignInsInFlight(4);
    const release = inFlight.claim('email-hash', '192.0.2.1');
    expect(release).toBeTypeOf('function');
    expect(inFlight.claim('email-hash', '192.0.2.1')).toBeUndefined();
    expect(inFlight.claim('email-hash', '192.0.2.2')).toBeTypeOf('function');
    release!();
    release!(); // giving back twice frees nothing more
    expect(inFlight.claim('email-hash', '192.0.2.1')).toBeTypeOf('function');
  });

  it('caps the checks one source has in flight, whatever the emails', () => {
    const inFlight = createSignInsInFlight(2);
    const first = inFlight.claim('a', '192.0.2.9');
    expect(inFlight.claim('b', '192.0.2.9')).toBeTypeOf('function');
    expect(inFlight.claim('c', '192.0.2.9')).toBeUndefined();
    first!();
    expect(inFlight.claim('c', '192.0.2.9')).toBeTypeOf('function');
  });
});
