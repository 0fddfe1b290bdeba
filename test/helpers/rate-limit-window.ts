/**
 * Rate-limit counts live in minute windows aligned on the clock (http/rate-limit-store.ts): a test
 * that must stay in one window starts early in a minute, so a boundary never resets its count halfway.
 */
export async function startOfAWindow(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 40_000) {
    await new Promise((resolve) => setTimeout(resolve, 60_000 - into + 200));
  }
}
