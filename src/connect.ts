// Opening a queue: a destination (or none, for the local queue) -> a connected Queue.
import pRetry from 'p-retry';
import type { EventHandler } from './events.js';
import { TejError } from './errors.js';
import { DEFAULT_QUEUE, Queue } from './queue.js';
import { loadBundle } from './remote/bundle.js';
import { BUSY_RETRIES, isBusy } from './transport/busy.js';
import { LocalTransport } from './transport/local.js';
import type { Prompter } from './transport/prompt.js';
import type { Transport } from './transport/transport.js';

export interface ConnectOptions {
  /** Queue directory on the host. @default '~/.tej' */
  queue?: string;
  /** Record an unknown host key instead of refusing it. @default false */
  acceptNewHostKey?: boolean;
  /** Attempts after the first for transient network failures (never auth or host-key errors). @default 2 */
  retries?: number;
  /**
   * Keep the SSH connection open between calls and processes for this many seconds without use, in a
   * background master reached over a private unix socket (like OpenSSH's ControlPersist). SSH only.
   * @default undefined (no master)
   */
  persist?: number;
  /** Answers keyboard-interactive prompts. @default TEJ_ASKPASS, else the terminal */
  prompt?: Prompter;
  onEvent?: EventHandler;
  /**
   * Abandons the attempt: connect() rejects with the signal's reason and leaves no connection open.
   * Only connect() itself: the queue's later reconnections ignore it. (The CLI's submit opens the
   * connection while it reads the job, and aborts when the job is bad.)
   */
  signal?: AbortSignal;
}

/** True for the destinations that mean "this machine, no SSH". */
export function isLocal(destination: string | undefined): boolean {
  return destination === undefined || destination === '' || destination === 'local';
}

/**
 * Connects to a tej queue.
 * @example
 * const q = await connect('alice@hpc');
 * const { id } = await q.submit('./job', { id: 'run1' });
 * console.log(await q.status(id));
 * await q.close();
 */
export async function connect(destination?: string, options: ConnectOptions = {}): Promise<Queue> {
  const retries = options.retries ?? 2;
  const busyRetries = retries === 0 ? 0 : Math.max(retries, BUSY_RETRIES);
  const open = (signal?: AbortSignal): Promise<Transport> =>
    pRetry(
      async () => {
        if (options.persist) {
          const { persistentTransport } = await import('./persist/start.js');
          const transport = await persistentTransport(destination!, {
            idleSeconds: options.persist,
            acceptNewHostKey: options.acceptNewHostKey,
            prompt: options.prompt,
            onEvent: options.onEvent,
          });
          // The master is not interrupted (its login serves later commands too): once it answers, an
          // aborted attempt drops its client.
          if (signal?.aborted) {
            await transport.close();
            throw signal.reason;
          }
          return transport;
        }
        // ssh2 is loaded only when a host is used: the local queue and --help stay fast.
        const { SshTransport } = await import('./transport/ssh.js');
        return SshTransport.connect(destination!, {
          acceptNewHostKey: options.acceptNewHostKey,
          prompt: options.prompt,
          onEvent: options.onEvent,
          signal,
        });
      },
      {
        // A busy host (closed before the handshake) gets more attempts than other transient failures, at
        // random times: 100 clients retrying in step would meet sshd's MaxStartups again.
        retries: busyRetries,
        signal,
        minTimeout: 500,
        maxTimeout: 10_000,
        factor: 2,
        randomize: true,
        shouldRetry: (e) => e instanceof TejError && e.retryable && e.attemptNumber <= (isBusy(e) ? busyRetries : retries),
        onFailedAttempt: (e) => {
          if (e instanceof TejError && e.retryable && e.attemptNumber <= (isBusy(e) ? busyRetries : retries)) {
            options.onEvent?.({ kind: 'retry', host: destination!, attempt: e.attemptNumber, error: e.message });
          }
        },
      },
    );
  // Every call names the helpers' hash: read and hash them while the connection opens.
  loadBundle().catch(() => undefined);
  options.signal?.throwIfAborted();
  if (isLocal(destination)) return new Queue(new LocalTransport(), options.queue ?? DEFAULT_QUEUE, options.onEvent);
  // `open` again: calls that are safe to repeat reconnect after a broken connection (Queue.retrying).
  // The signal was for this first connection only.
  return new Queue(await open(options.signal), options.queue ?? DEFAULT_QUEUE, options.onEvent, () => open());
}
