// `download --update` (one pass) and `download --watch` (passes until the job ends): see ./sync.ts. The
// state a pass reads comes before its listing, so the pass that first sees the job ended is the last
// one and misses nothing the job wrote. Between passes the client waits on a timer (no busy loop), over
// the same connection. A spec that matched no file in any pass is an error (exit 66) naming it, once
// the files of the others are written.
import { setTimeout as sleep } from 'node:timers/promises';
import { JobFileNotFoundError } from '../errors.js';
import { checkJobId } from '../job/id.js';
import type { QueueCalls } from '../remote/call.js';
import { ACTIVE_STATES } from './listing.js';
import { syncPass, type PassResult } from './sync.js';
import { syncSpecs } from './sync-plan.js';

export interface SyncOptions {
  cwd: string;
  /** Fetch only what differs from the local copy (size and mtime); else every match. */
  update: boolean;
  /** With update: a file of the local copy's size but another mtime is compared by sha256 before it is sent. */
  checksum?: boolean;
  /** Seconds between passes: pass again until the job ends. */
  watchSeconds?: number;
  /** Told each pass's result, as it ends. */
  onPass?: (pass: PassResult & { pass: number; final: boolean }) => void;
}

/** The passes' totals: downloaded ones summed, unchanged ones the last pass's, the state the last one read. */
export interface SyncResult extends PassResult {
  passes: number;
}

/** Downloads what `specs` match from job `id`, once or (watchSeconds) until the job ends. */
export async function syncDownload(q: QueueCalls, id: string, requests: string[], options: SyncOptions): Promise<SyncResult> {
  checkJobId(id);
  const specs = await syncSpecs(requests, options.cwd);
  const matched = new Set<(typeof specs)[number]>();
  const total: SyncResult = { passes: 0, state: '', downloadedFiles: 0, downloadedBytes: 0, unchangedFiles: 0, unchangedBytes: 0, skipped: [] };
  const path = requests.join(' ');
  for (;;) {
    const progress = (p: { bytes: number; files: number; unchangedFiles: number; unchangedBytes: number; done: boolean }) =>
      q.onEvent?.({ kind: 'download-progress', host: q.host, path, destination: options.cwd, bytes: p.bytes, files: p.files, done: p.done, unchangedFiles: p.unchangedFiles, unchangedBytes: p.unchangedBytes });
    // after the first pass, a file is fetched again only when it changed, whatever --update says
    const pass = await syncPass(q, id, specs, { update: options.update || total.passes > 0, checksum: options.checksum ?? false }, matched, progress);
    total.passes += 1;
    total.state = pass.state;
    total.downloadedFiles += pass.downloadedFiles;
    total.downloadedBytes += pass.downloadedBytes;
    total.unchangedFiles = pass.unchangedFiles;
    total.unchangedBytes = pass.unchangedBytes;
    total.skipped.push(...pass.skipped.filter((s) => !total.skipped.includes(s)));
    const final = options.watchSeconds === undefined || !ACTIVE_STATES.has(pass.state);
    options.onPass?.({ ...pass, pass: total.passes, final });
    if (final) break;
    await sleep(options.watchSeconds! * 1000);
  }
  const missing = specs.filter((s) => !matched.has(s));
  if (missing.length > 0) {
    const names = missing.map((s) => `'${s.pattern ? s.spec : s.path}'`).join(', ');
    throw new JobFileNotFoundError(`no file in job ${id} matches ${names}`, {
      hint: "paths and patterns are relative to the job's work directory; patterns match regular files ('**/*.csv' at any depth)",
    });
  }
  return total;
}
