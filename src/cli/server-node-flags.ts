// V8 heap sizes for `keygate serve`, measured with `npm run bench` (README, Performance). Left to
// itself V8 sizes the heap from the machine's memory (here 24 GiB) and lets both generations
// grow far beyond what Keygate keeps alive (SPEC §8: RSS under load ≤ 250 MB). A young generation
// of this size still lets a request's short-lived objects die young; the old-generation cap keeps
// the rest near the live set without collecting all the time.
// Node takes these on its command line only, so every way of starting the server repeats them:
// package.json `start`, bin/keygate, the Dockerfile's CMD and deploy/base — a unit test checks.
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=16'] as const;
