// The submit and resubmit operations: a prepared job (src/job/prepare.ts) sent to the queue's submit
// helper, small ones inside the request, and the helper's reply turned into a SubmitResult.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { InvalidInputError, NoQueueError, TejError } from '../errors.js';
import type { Reply } from '../protocol/reply.js';
import { HelpersOutdatedError, type CallOptions, type CallResult, type QueueCalls } from '../remote/call.js';
import { checkJobId, checkNewJobId, TASK_ID_PATTERN } from './id.js';
import { packJob } from './pack.js';
import { replay } from './prepack.js';
import { KEEP_INPUT_MAX_BYTES, type PreparedSubmission } from './prepare.js';
import type { JobState } from './status.js';
import { askStore, storeBlobs, storeHeaders, storeUpload, type StoreUpload } from './store.js';

export interface SubmitResult {
  id: string;
  plugin: string;
  nativeId: string;
  state: JobState;
  /** Bytes of file content sent (submit only): all of them, or what the content store lacked. */
  uploadedBytes?: number;
  /** Files placed from the content store instead of sent (submit only). */
  reusedFiles?: number;
}

/** A submit whose tar stream is at most this long travels inside the request (CallOptions.inline). */
export const INLINE_MAX_BYTES = 64 * 1024;

/** Submits a job prepared by prepareSubmission (which may have run while the queue connected). */
export async function submitPrepared(q: QueueCalls, prepared: PreparedSubmission | Promise<PreparedSubmission>): Promise<SubmitResult> {
  const { id, plan, options, nonce, meta: metaPromise, packed: packing, hashes } = await prepared;
  const meta = await metaPromise;
  const packed = await packing; // a file that cannot be read fails here, before anything is sent
  const args = [id, nonce];
  if (options.plugin) args.push('--plugin', options.plugin);
  if (options.keepInput ?? plan.bytes <= KEEP_INPUT_MAX_BYTES) args.push('--keep-input');
  // The store's question: which contents the host lacks (none of this without a store there).
  let store: StoreUpload | undefined;
  let answered: Promise<void> | undefined;
  if (hashes) {
    const h = await hashes;
    const headers = storeHeaders(plan, h);
    answered = askStore(q, nonce, storeBlobs(h, headers)).then((answer) => {
      if (answer) store = storeUpload(plan, h, headers, answer);
    });
    answered.catch(() => undefined); // awaited below, whatever the submit does
  }
  const allFiles = plan.entries.filter((e) => e.type === 'file').length;
  const totals = () => ({
    totalFiles: store ? store.uploadedFiles : allFiles,
    totalBytes: store ? store.uploadedBytes : plan.bytes,
    skippedBytes: store?.reusedBytes,
  });
  const pack = (onProgress?: (bytes: number, files: number) => void) => (packed ? replay(packed, onProgress) : packJob(plan, meta, nonce, onProgress, store));
  let inline: Buffer | undefined;
  if (q.inline && plan.bytes <= INLINE_MAX_BYTES) {
    await answered;
    inline = await inlineTar(pack());
  }
  /** The submit call. Its upload waits for the store's answer; LIVE false: the call was given up, nothing is sent. */
  const call = (extra: CallOptions, live: () => boolean = () => true) =>
    q.call('submit', args, {
      ...extra,
      inline,
      onSend: () => {
        const t = totals();
        q.onEvent?.({ kind: 'upload-progress', host: q.host, bytes: t.totalBytes, files: t.totalFiles, ...t });
        q.onEvent?.({ kind: 'upload-committed', host: q.host, id });
      },
      stdin: () =>
        (async function* () {
          await answered; // the upload is made from the store's answer
          if (!live()) return;
          const t = totals();
          const progress = (bytes: number, files: number) => q.onEvent?.({ kind: 'upload-progress', host: q.host, bytes, files, ...t });
          yield* committing(pack(progress), () => q.onEvent?.({ kind: 'upload-committed', host: q.host, id })) as AsyncIterable<Buffer>;
        })(),
    });
  // A repeat after a broken connection sends the same id and nonce: if the first attempt got as far
  // as claiming the id, the helper answers with that job instead of "exists" (resumed=1).
  const repeating = () => q.retrying('submit', () => call({}));
  let result: CallResult;
  if (answered && inline === undefined) {
    // The submit's channel opens beside the store's question: its helper starts, checks the id and
    // makes its staging while the host answers, then reads the upload made from the answer (a second
    // submit of 2000 files: 0.1 s less). It neither sets up the queue nor installs the helpers again
    // (the question does that, which this call then follows).
    let live = true;
    try {
      result = await call({ autoSetup: false, repair: false }, () => live);
    } catch (e) {
      live = false;
      await answered; // the question's own error comes first
      if (!(e instanceof NoQueueError || e instanceof HelpersOutdatedError || (e instanceof TejError && e.retryable))) throw e;
      result = await repeating();
    }
  } else {
    await answered;
    result = await repeating();
  }
  await answered;
  const t = totals();
  return { ...submitResult(result.reply!, id), uploadedBytes: t.totalBytes, reusedFiles: store?.reusedFiles ?? 0 };
}

/** Runs a job again under `newId` from the inputs it was uploaded with (kept on the host as input.tar). */
export async function resubmit(q: QueueCalls, id: string, newId: string): Promise<SubmitResult> {
  checkJobId(id);
  // a task of an array (ID/N) runs again under its own id
  if (newId !== id || !TASK_ID_PATTERN.test(id)) checkNewJobId(newId);
  // a fresh nonce: of two resubmits to one new id, one wins and the other gets 73
  const { reply } = await q.call('resubmit', [id, newId, randomBytes(8).toString('hex')]);
  return submitResult(reply!, newId);
}

/** A tar stream read whole, when it is at most INLINE_MAX_BYTES long. */
async function inlineTar(source: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length > INLINE_MAX_BYTES) {
        source.destroy();
        return undefined;
      }
    }
  } catch (e) {
    // as Queue.run says it for a streamed upload
    if (e instanceof TejError) throw e;
    throw new InvalidInputError(`reading the job to upload failed: ${(e as Error).message}`, { cause: e });
  }
  return Buffer.concat(chunks, length);
}

/** The reply of submit and resubmit → what they return. */
function submitResult(reply: Reply, id: string): SubmitResult {
  const r = reply.records[0] ?? reply.header;
  return { id: r.id ?? id, plugin: r.plugin ?? 'direct', nativeId: r.native_id ?? '', state: (r.state as JobState) ?? 'running' };
}

/**
 * Passes SOURCE through and calls onCommit just before the last two chunks go on: they hold the end
 * marker (and the tar's end blocks), without which the host starts nothing. Until then, a client that
 * stops (Ctrl-C) leaves no job; after it, the job may start.
 */
function committing(source: Readable, onCommit: () => void): Readable {
  return Readable.from(
    (async function* () {
      const held: Buffer[] = [];
      for await (const chunk of source as AsyncIterable<Buffer>) {
        held.push(chunk);
        if (held.length > 2) yield held.shift()!;
      }
      onCommit();
      yield* held;
    })(),
    { objectMode: false },
  );
}
