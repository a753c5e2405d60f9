// V8 heap sizing for `keygate serve`, measured with `npm run bench` (docs/performance.md). Left to
// itself V8 sizes the heap from the machine's memory (here 24 GiB) and lets both generations grow
// far beyond what Keygate keeps alive.
// - A 16 MB semi-space still lets a request's short-lived objects die young.
// - A growing factor of 1.3 (instead of V8's own, up to 4) starts the next full collection when the
//   old generation reaches 1.3 × what the last one kept alive. Unlike `--max-old-space-size`, it
//   is not a hard cap: the heap still follows a bigger live set (100,000 keys), and V8 does not
//   collect over and over near a limit. A low factor is cheap only while little is promoted: see
//   docs/performance.md before raising what a request keeps alive across collections.
// Node takes these on its command line only, so every way of starting the server repeats them:
// package.json `start`, bin/keygate, the Dockerfile's CMD and deploy/base — a unit test checks.
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=30'] as const;
