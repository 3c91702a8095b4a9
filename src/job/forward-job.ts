// The life of a forward: wait for the job to run (a queued job's node is not known yet), ask where it
// runs, open the listeners (src/job/forward.ts), then watch the job and end the forward with it.
import { JobNotFoundError, RemoteUnavailableError, UsageError } from '../errors.js';
import type { QueueCalls } from '../remote/call.js';
import type { Transport } from '../transport/transport.js';
import type { JobStatus } from './status.js';
import { checkNode, openForward, parseForwardSpec, type ForwardEnd, type ForwardHandle, type ForwardSpec, type Tunnel } from './forward.js';

export type { ForwardHandle, ForwardSpec };

export interface ForwardOptions {
  /** Gives up waiting for a queued job (AbortError); aborting later closes the forward. */
  signal?: AbortSignal;
  /** The longest pause between two looks at the job's state, in ms. @default 5000 */
  pollMs?: number;
}

/** What forwardJob needs of a queue (src/queue.ts): its calls, status, and its transport of the moment. */
export interface ForwardCalls extends Pick<QueueCalls, 'host' | 'onEvent' | 'call'> {
  status(id: string): Promise<JobStatus | undefined>;
  /** Status reconnects after a broken connection: later connections go on the new transport. */
  transport(): Pick<Transport, 'tunnel'>;
}

const WAITING = new Set(['submitting', 'queued']);

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const done = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Backoff between looks at the job: 0.5 s, doubling, at most `max`. */
const next = (previous: number | undefined, max: number) => (previous === undefined ? 500 : Math.min(previous * 2, max));

/**
 * Forwards local ports (`8888`, `9000:8888`, `0:8888`: a free one) on 127.0.0.1 to ports of the machine
 * the job runs on, through the host's sshd, once the job runs (Queue.forward).
 */
export async function forwardJob(q: ForwardCalls, id: string, specs: readonly (ForwardSpec | string)[], options: ForwardOptions = {}): Promise<ForwardHandle> {
  const parsed = specs.map((s) => (typeof s === 'string' ? parseForwardSpec(s) : s));
  if (parsed.length === 0) throw new UsageError('forward needs a port', { hint: 'tej forward [DEST] --id ID [LOCAL:]PORT...' });
  if (!q.transport().tunnel) throw new RemoteUnavailableError(`the connection to ${q.host} cannot forward ports`, { hint: 'connect to the host over SSH without --persist' });
  const max = options.pollMs ?? 5000;
  let delay: number | undefined;
  let told = '';
  let node: string;
  for (;;) {
    const w = (await q.call('where', [id])).reply!.header;
    const state = w.state ?? 'absent';
    if (state === 'running') {
      node = checkNode(w.node, q.host, id);
      break;
    }
    if (state === 'absent') throw new JobNotFoundError(`no such job: ${id} (on ${q.host})`, { hint: `'tej list ${q.host}' shows the jobs` });
    if (!WAITING.has(state)) {
      throw new RemoteUnavailableError(`job ${id} is ${state} on ${q.host}: there is nothing to forward to`, { hint: `'tej resubmit ${q.host} --id ${id} NEW_ID' runs it again` });
    }
    if (told !== state) q.onEvent?.({ kind: 'forward-waiting', host: q.host, id, state });
    told = state;
    delay = next(delay, max);
    await pause(delay, options.signal);
  }
  const tunnel: Tunnel = (to, port) => q.transport().tunnel!(to, port);
  const fwd = await openForward(node, parsed, tunnel, q.host, q.onEvent);
  const stopper = new AbortController();
  const close = async () => {
    stopper.abort();
    await fwd.close();
  };
  const onAbort = () => void close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Watches the job (one status call now and then) until it leaves the running state or close().
  const watch = async (): Promise<ForwardEnd> => {
    let wait: number | undefined;
    for (;;) {
      wait = next(wait, max);
      try {
        await pause(wait, stopper.signal);
      } catch {
        return { reason: 'closed' };
      }
      const s = await q.status(id);
      if (stopper.signal.aborted) return { reason: 'closed' };
      if (s?.state !== 'running') return { reason: 'job-ended', state: s?.state ?? 'absent' };
    }
  };
  const ended = watch().finally(async () => {
    options.signal?.removeEventListener('abort', onAbort);
    await fwd.close();
  });
  ended.catch(() => undefined); // the caller reads it; an unread rejection must not crash the process
  return { ...fwd, close, ended };
}
