/**
 * Waits on a condition instead of a fixed sleep: polls `check` until it returns a value other than undefined, or fails
 * after `timeoutMs` with `what` in the message. The limit only bounds a hung test; no test passes or fails on speed.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, pollMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `waitFor` a condition that is true or false. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, pollMs = 20): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), timeoutMs, pollMs);
}

/** A promise the test settles itself: holds a fake step open until the test says it may finish. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Whether `promise` has settled by now, without waiting for it (one microtask turn). */
export function settledNow(promise: Promise<unknown>): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, Promise.resolve().then(() => false)]);
}
