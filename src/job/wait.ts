// Waiting for jobs to end: one status request per poll for all the jobs still pending, with a backoff
// (0.5 s doubling to 10 s). Shared by the library's Queue.wait and the CLI's `tej wait`.
import type { JobStatus } from './status.js';

/** Polling backoff: 0.5 s, doubling, at most 10 s between polls. */
export function nextDelay(previous: number | undefined): number {
  return previous === undefined ? 500 : Math.min(previous * 2, 10_000);
}

const ACTIVE = new Set(['submitting', 'queued', 'running']);

/** Whether a job has ended (a job that does not exist, absent, counts as ended). */
export function hasEnded(s: JobStatus | undefined): boolean {
  return !s || !ACTIVE.has(s.state);
}

export interface WaitUpdate {
  id: string;
  /** undefined: no such job (deleted, or never there). */
  status: JobStatus | undefined;
  ended: boolean;
}

export interface WaitOptions {
  /** Give up after this many seconds; the jobs still pending are in the result's `timedOut`. */
  timeout?: number;
  /** Called for each job when its state first shows and whenever it changes, last with `ended: true`. Awaited. */
  onUpdate?: (update: WaitUpdate) => void | Promise<void>;
  /** The statuses of the first poll, when the caller has them already (the CLI's `show`). */
  initial?: Map<string, JobStatus | undefined>;
  /** Stop waiting early (the result then holds the jobs still pending in `timedOut`). */
  signal?: AbortSignal;
}

export interface WaitResult {
  /** The last status seen of every job waited for. */
  statuses: Map<string, JobStatus | undefined>;
  /** The jobs that had not ended when the timeout came (empty when all ended). */
  timedOut: string[];
}

/** Polls `poll` (one request for many jobs) until every job in `ids` has ended or the timeout comes. */
export async function waitForJobs(
  poll: (ids: string[]) => Promise<Map<string, JobStatus | undefined>>,
  ids: readonly string[],
  options: WaitOptions = {},
): Promise<WaitResult> {
  const deadline = options.timeout !== undefined ? Date.now() + options.timeout * 1000 : Infinity;
  const last = new Map<string, JobStatus | undefined>();
  const seen = new Set<string>();
  let pending = [...new Set(ids)];
  let first = options.initial;
  let delay: number | undefined;
  for (;;) {
    const statuses = first ?? (pending.length ? await poll(pending) : new Map<string, JobStatus | undefined>());
    first = undefined;
    for (const id of pending) {
      const s = statuses.get(id);
      const ended = hasEnded(s);
      const before = last.get(id);
      last.set(id, s);
      if (!ended && seen.has(id) && before?.state === s?.state) continue;
      seen.add(id);
      await options.onUpdate?.({ id, status: s, ended });
    }
    pending = pending.filter((id) => !hasEnded(last.get(id)));
    if (pending.length === 0 || Date.now() >= deadline || options.signal?.aborted) return { statuses: last, timedOut: pending };
    delay = nextDelay(delay);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(delay!, Math.max(0, deadline - Date.now())));
      function done() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      }
      options.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
