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

/**
 * A GET of `url` through a forward: the body (`withStatus`: after the status code), or `failed: MESSAGE` (the job may not listen yet), for
 * waitFor. The request gives up after `timeoutMs` on a timer that holds the event loop: a request whose
 * socket went away without settling it must fail and be tried again, not leave the test awaiting a
 * promise nothing can settle (AbortSignal.timeout's timer does not hold the loop).
 */
export async function fetchText(url: string, o: { withStatus?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  try {
    const r = await fetch(url, { signal: abort.signal });
    const body = await r.text();
    return o.withStatus ? `${r.status} ${body}` : body;
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
