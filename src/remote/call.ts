// What an operation on a queue (src/job/submit.ts, src/download/fetch.ts, ...) needs of the Queue that
// runs it (src/queue.ts): one helper call, the retry of a call safe to repeat, and its events.
import type { Options as RetryOptions } from 'p-retry';
import { ConnectionError, InvalidInputError, ProtocolError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import type { Arg } from '../protocol/invocation.js';
import type { Reply } from '../protocol/reply.js';
import type { RunOptions, RunResult, Transport } from '../transport/transport.js';

/** The queue directory on a host when none is named. */
export const DEFAULT_QUEUE = '~/.tej';

/**
 * `inline`: the call's whole stdin, small, sent inside the request on the session's shell instead of over
 * a channel of its own (opening one costs the host a fork of sshd and a login shell); `onSend` is told
 * just before it goes. A transport without a session sends it as stdin.
 */
export type CallOptions = RunOptions & {
  autoSetup?: boolean;
  /** false: a queue whose helpers need installing again throws HelpersOutdatedError instead (a call beside another that installs). */
  repair?: boolean;
  streamMarker?: boolean;
  inline?: Buffer;
  onSend?: () => void;
};

/** A call made with `repair: false` found the queue's helpers to install again (older, or modified). */
export class HelpersOutdatedError extends ProtocolError {}

export interface CallResult {
  result: RunResult;
  /** The parsed reply; absent for a call whose stdout was streamed (options.stdout). */
  reply?: Reply;
}

export interface QueueCalls {
  /** For messages: `alice@hpc`, or `local`. */
  readonly host: string;
  /** The queue directory on the host. */
  readonly path: string;
  /** Whether a small stdin can travel inside the request (CallOptions.inline): the transport has a session. */
  readonly inline: boolean;
  readonly onEvent?: EventHandler;
  /** The connection itself, for what goes over SFTP (src/download/resume.ts). */
  readonly transport?: Transport;
  /** Runs one helper (Queue.call). */
  call(command: string, args: Arg[], options?: CallOptions): Promise<CallResult>;
  /** Runs `fn` again over a new connection after the old one broke: only for calls safe to repeat. */
  retrying<T>(what: string, fn: () => Promise<T>): Promise<T>;
}


/** How often an idempotent call is sent again over a new connection after the old one broke. */
export const CALL_RETRIES = 3;

/** p-retry's options for Queue.retrying: only retryable errors (a broken connection), told to `onRetry`. */
export function retryPolicy(onRetry: (attempt: number, message: string) => void): RetryOptions {
  return {
    retries: CALL_RETRIES,
    minTimeout: 1000,
    factor: 2,
    shouldRetry: (e) => e instanceof TejError && e.retryable,
    onFailedAttempt: (e) => {
      if (e instanceof TejError && e.retryable && e.retriesLeft > 0) onRetry(e.attemptNumber, e.message);
    },
  };
}

/** The error a run's result stands for before its exit status is read: a torn upload, a broken connection. */
export function runFailure(r: RunResult, host: string, what: string): TejError | undefined {
  // A local read error tore the upload: that, not the remote's "incomplete upload", is the cause.
  const code = (r.stdinError as NodeJS.ErrnoException | undefined)?.code;
  // EPIPE: the helper stopped reading (refused the id, queue absent); its exit status says why.
  if (r.stdinError && r.code !== 0 && code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE') {
    if (r.stdinError instanceof TejError) return r.stdinError;
    return new InvalidInputError(`reading the job to upload failed: ${r.stdinError.message}`, { cause: r.stdinError });
  }
  if (r.code === null) return new ConnectionError(`connection to ${host} broke during '${what}'${r.signal ? ` (remote got ${r.signal})` : ''}`);
  return undefined;
}
