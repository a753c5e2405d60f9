// Failures are counted in fixed windows (60 s by default). A test's attempts must all fall in one
// window to add up, so each test starts with at least 15 s of the current window left.
export async function awayFromWindowEdge(windowSeconds = 60, marginSeconds = 15): Promise<void> {
  const left = windowSeconds * 1000 - (Date.now() % (windowSeconds * 1000));
  if (left < marginSeconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
