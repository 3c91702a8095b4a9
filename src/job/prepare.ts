// Submission preparation: a job checked and scanned, its record started and (small) tar stream read ahead,
// before anything touches the host.
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { checkNewJobId } from './id.js';
import { checkAfter } from './after.js';
import type { JobMeta } from './pack.js';
import { planJob, type JobPlan } from './plan.js';
import { prepack, PREPACK_MAX_BYTES, type Prepacked } from './prepack.js';
import { checkOutputPath } from './spec.js';
import { hashContents, usesStore, type ContentHashes } from './store.js';
import { submissionMeta } from './submission.js';
import { PLUGIN_NAME } from '../remote/user-plugins.js';

/** Throws InvalidInputError for a plugin name that is not one (setup and submit share it). */
export function checkPluginName(plugin: string | undefined): void {
  if (plugin !== undefined && !PLUGIN_NAME.test(plugin)) {
    throw new InvalidInputError(`bad plugin name '${plugin}'`, { hint: 'plugins are named like direct or slurm' });
  }
}

export interface SubmitOptions extends Omit<JobMeta, 'spec'> {
  id: string;
  plugin?: string;
  spec?: unknown;
  /** gitignore patterns not to upload, on top of the job directory's .tejignore. */
  exclude?: string[];
  /**
   * Keep the upload on the host as the job's input.tar, so that `resubmit` can run it again from the
   * same inputs. It costs the upload's size in disk and about a third more time to submit.
   * @default true for uploads up to KEEP_INPUT_MAX_BYTES, false above
   */
  keepInput?: boolean;
  /**
   * Send only the contents the queue's content store lacks (src/job/store.ts).
   * @default true for jobs over STORE_MIN_BYTES, false up to it
   */
  store?: boolean;
}

/** Uploads up to this size are kept for `resubmit` unless asked otherwise. */
export const KEEP_INPUT_MAX_BYTES = 64 * 1024 * 1024;

/** A job checked and scanned, ready to send: what submit needs before it touches the host. */
export interface PreparedSubmission {
  id: string;
  options: SubmitOptions;
  plan: JobPlan;
  /** Names this submit: a retry after a broken connection sends the same one (docs/protocol.md). */
  nonce: string;
  /** The job's meta files; the git provenance in it may take a while, so it is awaited last. */
  meta: Promise<JobMeta>;
  /** The tar stream read ahead into memory (with `prepack`, for jobs up to PREPACK_MAX_BYTES). */
  packed?: Promise<Prepacked>;
  /** The sha256 of the files the content store may hold, when this submit uses the store. */
  hashes?: Promise<ContentHashes>;
}

/** Checks a submit's id and plugin name, without touching the file system; returns the id. */
export function checkSubmitOptions(options: SubmitOptions): string {
  const id = checkNewJobId(options.id);
  checkOutputPath(options.stdout, 'stdout');
  checkOutputPath(options.stderr, 'stderr');
  checkPluginName(options.plugin);
  checkAfter(options.after);
  return id;
}

/**
 * Checks the id and plugin and scans the job directory (bad input fails here, before anything is sent),
 * then starts collecting the submission record, and with `prepack` reads a small job's tar stream into
 * memory. The CLI runs this during the SSH handshake (src/cli/prepare.ts); on a queue already
 * connected, `prepack` would only put the packing before the upload instead of beside it.
 */
export async function prepareSubmission(dir: string, options: SubmitOptions, ahead: { prepack?: boolean } = {}): Promise<PreparedSubmission> {
  const id = checkSubmitOptions(options);
  // keepInput is a submit option, not a meta file: left out of rest
  const { exclude, keepInput, store, ...rest } = options;
  const plan = await planJob(dir, { script: options.script, command: options.command, exclude });
  const meta: JobMeta = { ...rest, script: options.command === undefined ? plan.script : undefined };
  const full = submissionMeta(dir, meta).then((extra) => ({ ...meta, ...extra }));
  full.catch(() => undefined); // observed by submitPrepared; never an unhandled rejection meanwhile
  const nonce = randomBytes(8).toString('hex');
  // hashed now, beside the connection's handshake, like a small job's prepack
  const hashes = usesStore(plan, store) ? hashContents(plan) : undefined;
  hashes?.catch(() => undefined); // likewise
  const packed = !hashes && ahead.prepack && plan.bytes <= PREPACK_MAX_BYTES ? full.then((m) => prepack(plan, m, nonce)) : undefined;
  packed?.catch(() => undefined); // likewise
  return { id, options, plan, nonce, meta: full, ...(packed ? { packed } : {}), ...(hashes ? { hashes } : {}) };
}
