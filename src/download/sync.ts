// One pass of `download --update/--watch` (or of a download with patterns): the job's files listed
// (./listing.ts), matched and compared (./sync-plan.ts), and those to fetch sent by the host's `fetch`
// helper as one tar stream, each file written as download writes one (./write.ts: beside its place and
// renamed, never replacing what is not a regular file, temporary files never outliving the command),
// then given the job's mtime, so that the next pass finds it unchanged. A file changed in the second its
// listing was taken may change again within that second unseen: its copy gets the mtime one second
// earlier, and the next pass fetches it again.
import { randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fromFsError } from '../fs-errors.js';
import type { QueueCalls } from '../remote/call.js';
import { MarkerSkipper } from '../protocol/stream-marker.js';
import type { DecodedHeader } from '../tar.js';
import { dropSameContent } from './checksum.js';
import { throughLink } from './extract.js';
import { inside, physicalPath } from './links.js';
import { listJobFiles } from './listing.js';
import { planPass, type SyncSpec, type Target } from './sync-plan.js';
import { TarSink, type EntryContent } from './tar-sink.js';
import { FileWriter, placeFor } from './write.js';

export interface PassResult {
  /** The job's state before the listing. */
  state: string;
  downloadedFiles: number;
  downloadedBytes: number;
  unchangedFiles: number;
  unchangedBytes: number;
  /** Local paths not written: they would go through a symlink, or out of their destination. */
  skipped: string[];
}

export interface PassProgress {
  (p: { bytes: number; files: number; unchangedFiles: number; unchangedBytes: number; done: boolean }): void;
}

// One fetch call names at most this many bytes of paths (they travel in the call's script).
const BATCH_NAME_BYTES = 256 << 10;

/** Runs one pass over job `id`; `matched` collects the specs that matched a file. */
export async function syncPass(q: QueueCalls, id: string, specs: SyncSpec[], how: { update: boolean; checksum: boolean }, matched: Set<SyncSpec>, progress?: PassProgress): Promise<PassResult> {
  const listing = await listJobFiles(q, id);
  const plan = planPass(specs, listing.files, how.update, matched);
  if (how.update && how.checksum) await dropSameContent(q, id, plan, (mtime) => stampFor(mtime, listing.now));
  const result: PassResult = { state: listing.state, downloadedFiles: 0, downloadedBytes: 0, unchangedFiles: plan.unchangedFiles, unchangedBytes: plan.unchangedBytes, skipped: [] };
  let received = 0;
  const tell = (done = false) => progress?.({ bytes: received, files: result.downloadedFiles, unchangedFiles: result.unchangedFiles, unchangedBytes: result.unchangedBytes, done });
  const paths = [...plan.fetch.keys()];
  if (paths.length === 0) return result; // no progress for a pass with nothing to fetch (a quiet --watch)
  tell();
  for (let i = 0; i < paths.length; ) {
    const batch: string[] = [];
    for (let size = 0; i < paths.length && (batch.length === 0 || size < BATCH_NAME_BYTES); i++) {
      batch.push(paths[i]!);
      size += Buffer.byteLength(paths[i]!) + 8;
    }
    await fetchBatch(q, id, batch, plan.fetch, listing.now, result, (n) => {
      received += n;
      tell();
    });
  }
  tell(true);
  return result;
}

/** The mtime a copy gets: the job's, or one second earlier when it is not before the listing's `now` (see the top). */
function stampFor(mtime: number, now: number): number {
  return mtime >= now ? mtime - 1 : mtime;
}

/** Fetches the files `batch` names and writes each to its targets. */
async function fetchBatch(q: QueueCalls, id: string, batch: string[], targets: Map<string, Target[]>, now: number, result: PassResult, onWrite: (n: number) => void): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  const realDirs = new Set<string>();
  const open: FileWriter[] = []; // aborted if the stream breaks
  let n = 0;

  /** A writer for one target, or undefined when it is skipped. */
  const writerFor = async (t: Target, mode: number): Promise<{ writer: FileWriter; path: string; replace: boolean } | undefined> => {
    // Below a spec's destination nothing is written through a symlink, nor (following one the user had) outside it.
    if (t.inBase && (!inside(t.base, t.local) || throughLink(t.base, t.local, false, realDirs))) {
      result.skipped.push(relative(process.cwd(), t.local));
      return undefined;
    }
    try {
      mkdirSync(dirname(t.local), { recursive: true });
    } catch (e) {
      throw fromFsError(e, { doing: 'create the directory', path: dirname(t.local), write: true });
    }
    let place;
    try {
      place = placeFor(t.local, () => false);
    } catch (e) {
      throw fromFsError(e, { path: t.local, write: true });
    }
    if (t.inBase && place.path !== t.local && !inside(physicalPath(t.base) ?? t.base, place.path)) {
      result.skipped.push(relative(process.cwd(), t.local));
      return undefined;
    }
    const writer = await FileWriter.open(place, `${place.path}.tej-${tag}-${n++}`, mode, onWrite, (e) => fromFsError(e, { path: t.local, write: true }));
    open.push(writer);
    return { writer, path: place.path, replace: place.kind === 'replace' };
  };

  const onEntry = async (header: DecodedHeader): Promise<EntryContent | undefined> => {
    const name = header.name.startsWith('work/') ? header.name.slice('work/'.length) : undefined;
    const wanted = name === undefined ? undefined : targets.get(name);
    if (!wanted || header.type !== 'file') return undefined; // nothing the host sends chooses a path
    targets.delete(name!); // once: a second entry of the same name is not written
    const mode = (header.mode ?? 0o644) & 0o755;
    const writers: { writer: FileWriter; path: string; replace: boolean }[] = [];
    for (const t of wanted) {
      const w = await writerFor(t, mode);
      if (w) writers.push(w);
    }
    const stamp = stampFor(header.mtime ? Math.floor(header.mtime.getTime() / 1000) : wanted[0]!.file.mtime, now);
    return {
      write: async (data) => {
        for (const w of writers) await w.writer.write(data);
      },
      end: async () => {
        for (const w of writers) {
          await w.writer.end();
          if (w.replace) {
            try {
              utimesSync(w.path, new Date(), stamp);
            } catch (e) {
              throw fromFsError(e, { doing: 'set the mtime of', path: w.path, write: true });
            }
          }
          result.downloadedFiles += 1;
          result.downloadedBytes += header.size;
        }
      },
    };
  };

  const sink = new TarSink(onEntry, new MarkerSkipper(q.host));
  let localError: unknown;
  const finished = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    sink.on('error', reject);
    sink.on('close', () => (sink.writableFinished ? resolve() : reject(sink.errored ?? new Error('the download stream was closed before its end'))));
  });
  // A local failure (a full disk, a file in the way) stops the fetch: destroying the sink closes the channel.
  finished.catch((e: unknown) => {
    localError ??= e;
    sink.destroy();
  });
  try {
    await q.call('fetch', [id, ...batch], { stdout: sink, streamMarker: true });
    if (localError === undefined) {
      sink.end();
      await finished;
    }
  } catch (e) {
    localError ??= e;
  } finally {
    for (const w of open) w.abort(); // the ones finished are closed already: abort only removes what is left
  }
  if (localError !== undefined) throw localError;
}
