// Resumable download of one big file (issue 15): a regular file of at least RESUMABLE_MIN bytes going to a
// regular local file (or a new one), found and checked over SFTP, its bytes streamed into DEST.tej-partial
// (src/download/stream-range.ts, src/download/partial.ts); an interrupted run (Ctrl-C, a dropped link) leaves it, and the next run of
// the same download continues from its length. The result is checked (size and mtime of the remote file
// unchanged; sha256 where the host has sha256sum or shasum) and renamed into place; a file that changed
// while it was read (a job still writing it) is fetched again the tar way, as it is. Anything else (a
// directory, a small file, stdout, a FIFO or a device, a host without SFTP) goes the tar way (fetch.ts).
import { closeSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConnectionError, RemoteIOError, TejError } from '../errors.js';
import { fromFsError } from '../fs-errors.js';
import { resolveJobPath } from '../job/ls.js';
import type { QueueCalls } from '../remote/call.js';
import { shQuote } from '../transport/quote.js';
import { SftpUnavailableError, type Sftp } from '../transport/sftp.js';
import type { ExtractResult } from './extract.js';
import { dropPartial, hasPartial, openPartial, PARTIAL_SUFFIX, resumableLength, sha256File, type PartialNote } from './partial.js';
import type { DownloadRequest } from './request.js';
import { streamRange } from './stream-range.js';
import { placeFor } from './write.js';

/** Files from this size on go the resumable way (smaller ones are as quick to fetch again, in one tar stream). */
export const RESUMABLE_MIN = 32 << 20;

export interface ResumeResult extends ExtractResult {
  /** The length of the partial this run continued (0: from the start). */
  resumed: number;
  /** How the result was checked. */
  verified: 'sha256' | 'size+mtime';
}

/** The script that prints the sha256 of FILE, or `none` when the host has no tool for it. */
function sha256Script(file: string): string {
  const f = shQuote(file);
  return `if test -f ${f} && command -v sha256sum >/dev/null 2>&1; then sha256sum < ${f}; elif test -f ${f} && command -v shasum >/dev/null 2>&1; then shasum -a 256 < ${f}; else echo none; fi`;
}

/**
 * TEJ_TEST_INTERRUPT_AFTER=BYTES: a test's Ctrl-C once the partial holds that many bytes (deterministic);
 * BYTES:hold instead says so on stderr and reads no more until the connection drops (the test drops it).
 */
const [interruptAfter, interruptHow] = ((v) => [Number(v[0]) || undefined, v[1]])((process.env.TEJ_TEST_INTERRUPT_AFTER ?? '').split(':'));

/** The test's interruption (TEJ_TEST_INTERRUPT_AFTER), once `written` bytes are in the partial. */
async function interruptAt(written: number, sftp: Sftp): Promise<void> {
  if (interruptAfter === undefined || written < interruptAfter) return;
  if (interruptHow === 'hold') {
    process.stderr.write(`tej: test: holding at ${written} bytes\n`);
    await sftp.gone;
  }
  process.kill(process.pid, 'SIGINT');
  await new Promise(() => undefined); // the CLI's SIGINT handler exits
}

/**
 * Downloads `request` to `destination` the resumable way when it is one big regular file going to a
 * regular file; undefined when it is not (the caller uses the tar stream).
 */
export async function resumableDownload(q: QueueCalls, id: string, request: DownloadRequest, destination: string, progress: (bytes: number, files: number, done?: boolean) => void): Promise<ResumeResult | undefined> {
  const transport = q.transport;
  if (destination === '-' || !transport?.sftp) return undefined;
  let dest: string;
  try {
    const place = placeFor(destination, () => false);
    if (place.kind !== 'replace') return undefined; // a FIFO, a device: written into, by the tar way
    dest = place.path;
    // a new directory for it: the tar way makes it (and says what is in the way)
    if (!statSync(dirname(dest)).isDirectory()) return undefined;
  } catch {
    return undefined; // the tar way says what is wrong with it
  }
  let sftp: Sftp;
  let source: string;
  try {
    sftp = await transport.sftp();
    source = (await resolveJobPath(sftp, q.path, q.host, id, request.remote)).real;
  } catch (e) {
    if (e instanceof TejError || e instanceof SftpUnavailableError) return undefined; // the tar way gives download's own errors
    throw e;
  }
  const st = await sftp.stat(source);
  if (!st?.isFile() || (st.size < RESUMABLE_MIN && !hasPartial(dest))) return undefined;
  const note: PartialNote = { host: q.host, id, source, size: st.size, mtime: st.mtime };
  const resumed = resumableLength(dest, note);
  // A continued partial is checked whole by sha256 (its first part came in another run, and sat on this
  // disk meanwhile); the host hashes its file while the bytes travel. A download in one run is as sound
  // as the tar way's (the SSH channel's MAC, in order): size and mtime, without reading 2x the file.
  const remoteHash =
    resumed === 0
      ? Promise.resolve(undefined)
      : transport.run(sha256Script(source)).then(
          (r) => (r.code === 0 ? /^([0-9a-f]{64})\b/.exec(r.stdout.toString())?.[1] : undefined),
          () => undefined,
        );
  let fd: number;
  try {
    fd = openPartial(dest, note, resumed, (st.mode & 0o777) | 0o600);
  } catch (e) {
    throw fromFsError(e, { path: dest + PARTIAL_SUFFIX, write: true });
  }
  let sent = 0;
  let localError: unknown;
  try {
    let written = resumed;
    const onWrite = (n: number) => {
      progress((sent += n), 0);
      written += n;
      return interruptAt(written, sftp);
    };
    await streamRange(transport, source, fd, resumed, st.size, onWrite, (e) => (localError = fromFsError(e, { path: dest, write: true })));
  } catch (e) {
    // a local failure (a full disk) is no interruption to resume from: nothing of it stays
    if (localError !== undefined) {
      closeSync(fd);
      fd = -1;
      dropPartial(dest);
      throw localError;
    }
    const hint = `run the same download again: it continues from what ${dest}${PARTIAL_SUFFIX} holds`;
    if (e instanceof TejError) throw new RemoteIOError(`${request.remote} of job ${id} on ${q.host}: ${e.message}`, { hint, cause: e });
    throw new ConnectionError(`the download of ${request.remote} from ${q.host} broke: ${(e as Error).message}`, { hint, cause: e });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  const after = await sftp.stat(source);
  if (after?.size !== st.size || after.mtime !== st.mtime) {
    // a file the job is still writing: no fixed bytes to resume or check; the tar way sends what it reads
    dropPartial(dest);
    return undefined;
  }
  const hash = await remoteHash;
  if (hash !== undefined && hash !== (await sha256File(dest + PARTIAL_SUFFIX))) {
    dropPartial(dest);
    throw new RemoteIOError(`the bytes of ${request.remote} downloaded from ${q.host} differ from the host's (sha256)`, { hint: 'run the download again: it starts from zero' });
  }
  try {
    renameSync(dest + PARTIAL_SUFFIX, dest);
  } catch (e) {
    throw fromFsError(e, { path: dest, write: true });
  }
  dropPartial(dest); // the note
  progress(sent, 1, true);
  return { destination, files: 1, bytes: sent, skipped: [], resumed, verified: hash === undefined ? 'size+mtime' : 'sha256' };
}
