// The one wait of the tests: poll until something has happened, on a machine too loaded for fixed sleeps.

/**
 * Polls `probe` until `done` accepts its value (without `done`: until it is not undefined) and returns
 * that value; fails after `timeoutMs` with the last value seen. The bound is long: it only turns a hang
 * into a failure, and a loaded 2-core machine can take tens of seconds to start a job.
 */
export function waitFor<T>(what: string, probe: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs?: number): Promise<T>;
export function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, done?: undefined, timeoutMs?: number): Promise<T>;
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, done: (v: T) => boolean = (v) => v !== undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
