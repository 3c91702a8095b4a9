// Submit reads its job while the connection opens. The files are scanned and packed once the SSH
// handshake has begun: before that, loading ssh2 and the keys is the critical path, on the same thread;
// after it, the client mostly waits on the host. Without a handshake (the local queue, a --persist
// master that is up) the job is read when the queue is open.
// A bad job aborts the connection attempt, and nobody is asked for a one-time code before the job is
// known to be good.
import { prepareSubmission, type PreparedSubmission, type SubmitOptions } from '../job/prepare.js';
import type { OpenOptions } from './context.js';

export interface PreparingSubmission {
  /** The prepared submission, or the reason the job is bad; starts preparing if nothing did yet. */
  start(): Promise<PreparedSubmission>;
  /** For withQueue: starts the preparing at the handshake, aborts the connection if it fails. */
  connectOptions: OpenOptions;
}

export async function prepareWhileConnecting(dir: string, options: SubmitOptions): Promise<PreparingSubmission> {
  const abort = new AbortController();
  let begin!: () => void;
  const begun = new Promise<void>((resolve) => (begin = resolve));
  const prepared = begun.then(() => prepareSubmission(dir, options, { prepack: true }));
  prepared.catch((e: unknown) => abort.abort(e));
  const connectOptions: OpenOptions = {
    signal: abort.signal,
    onEvent: (e) => {
      if (e.kind === 'handshake') begin();
    },
  };
  // The transport's own choice of prompter (TEJ_ASKPASS, else the terminal, else none), made to wait.
  const { canAnswerPrompts, defaultPrompter } = await import('../transport/prompt.js');
  if (canAnswerPrompts()) {
    connectOptions.prompt = async (request) => {
      begin();
      await prepared;
      return defaultPrompter(request);
    };
  }
  return {
    start: () => {
      begin();
      return prepared;
    },
    connectOptions,
  };
}
