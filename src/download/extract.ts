// Writes one downloaded tar stream (one top-level entry: the file or directory asked for) to its
// destination. Entries are checked against tar-slip: nothing is written outside the destination or through
// a symlink, and symlinks that would point out of it (lexically, or physically through other links once
// the download is whole) are skipped or removed. How each file is written: ./write.ts.
import { randomBytes } from 'node:crypto';
import { fstatSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative, resolve, isAbsolute, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DecodedHeader } from '../tar.js';
import { InvalidInputError } from '../errors.js';
import { fromFsError } from '../fs-errors.js';
import type { MarkerSkipper } from '../protocol/stream-marker.js';
import { inside, physicalPath, removeEscapingLinks } from './links.js';
import type { DownloadRequest } from './request.js';
import { FileWriter, placeFor } from './write.js';
import { TarSink, type EntryContent } from './tar-sink.js';

export interface ExtractResult {
  /** Where it went: a local path, or '-' for stdout. */
  destination: string;
  files: number;
  bytes: number;
  skipped: string[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether writing `target` would go through a symlink below `root`: an existing component between them
 * (and `target` itself when `self`) is a link. The remote tar never puts entries under a symlink, so
 * such an entry is hostile (top/a -> ., top/a/b -> .., top/b/file lands outside) and is skipped.
 */
export function throughLink(root: string, target: string, self: boolean, realDirs: Set<string>): boolean {
  const parts = relative(root, target).split(sep).filter(Boolean);
  let path = root;
  for (const part of self ? parts : parts.slice(0, -1)) {
    path = join(path, part);
    if (realDirs.has(path)) continue; // checked before; a real directory cannot turn into a link under us
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) return true;
      if (st.isDirectory()) realDirs.add(path);
    } catch {
      return false; // does not exist yet: nothing below it does either
    }
  }
  return false;
}

/** Whether `path` is the file this process's stdout is (`/dev/stdout`, `/proc/self/fd/1`, or its name). */
function isOwnStdout(path: string): boolean {
  try {
    const a = statSync(path);
    const b = fstatSync(1);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** Whether a symlink entry may take this name: nothing there, a regular file or a symlink (never a directory, FIFO or device). */
function replaceable(target: string): boolean {
  try {
    const st = lstatSync(target);
    return st.isFile() || st.isSymbolicLink();
  } catch {
    return true;
  }
}

/**
 * The local path a request writes to, or '-' for stdout: a path that is this process's own stdout
 * (`file:/dev/stdout`, when `stdoutIsOurs`) is written through stdout like `file:`, in order with what
 * else goes there.
 */
export async function destinationFor(request: DownloadRequest, cwd: string, stdoutIsOurs = true): Promise<string> {
  const name = basename(request.remote === '.' ? 'job' : request.remote);
  if (request.target.kind === 'cwd') return resolve(cwd, name);
  if (request.target.kind === 'path') {
    const p = resolve(cwd, request.target.path);
    if (stdoutIsOurs && isOwnStdout(p)) return '-';
    return request.target.path.endsWith('/') || (await isDirectory(p)) ? join(p, name) : p;
  }
  return '-';
}

/** Resolves when `out` can take more, rejects when it fails or closes first. */
function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(out.errored ?? new Error('the output stream was closed'));
  return new Promise((resolve, reject) => {
    const settle = (e?: Error) => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (e: Error) => settle(e);
    const onClose = () => settle(out.errored ?? new Error('the output stream was closed'));
    out.on('drain', onDrain).on('error', onError).on('close', onClose);
  });
}

export interface DownloadSink {
  /** Where the tar stream goes. */
  sink: Writable;
  /** Settles once the sink has finished (or failed), links checked. */
  result: Promise<ExtractResult>;
}

/**
 * A writable that takes a tar stream and writes it to `destination` ('-' = `stdout`, which must then be
 * given). Each chunk's content goes straight to its file (src/download/tar-sink.ts).
 */
export function downloadSink(
  destination: string,
  stdout: Writable | undefined,
  /** Called as file content arrives: bytes and files so far. */
  onProgress?: (bytes: number, files: number) => void,
  /** Drops a login banner before the stream marker. */
  marker?: MarkerSkipper,
): DownloadSink {
  const result: ExtractResult = { destination, files: 0, bytes: 0, skipped: [] };
  let top: string | undefined;
  let realDest: string | undefined;
  const realDestination = () => (realDest ??= physicalPath(destination) ?? destination);
  const made = new Set<string>(); // directories known to exist: one mkdir each, not one per file
  const realDirs = new Set<string>(); // directories known not to be symlinks
  const ensureDir = (dir: string) => {
    if (made.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
  // One random tag per download, not per file (randomBytes cost 25 ms of a 2000-file download); the
  // temporary files are created exclusively, so a name already there fails rather than being followed.
  const tmpTag = randomBytes(4).toString('hex');
  let received = 0;
  const createdLinks = new Set<string>(); // symlinks this download made: checked again at the end

  const onEntry = async (header: DecodedHeader): Promise<EntryContent | undefined> => {
    // The helper names an entry that starts with '-' as ./-name (so that tar does not take it for an option).
    const name = header.name.replace(/^(\.\/)+(?=.)/, '').replace(/\/+$/, '');
    top ??= name.split('/')[0];
    const rel = name === top ? '' : name.startsWith(`${top}/`) ? name.slice(top!.length + 1) : undefined;
    const target = rel === undefined ? undefined : normalize(join(destination, rel));
    const { type } = header;
    const size = header.size ?? 0;
    if (destination === '-') {
      if (type === 'directory') throw new InvalidInputError(`'${top}' is a directory and cannot be printed to stdout`, { hint: `download it to a path instead: ${top}:./${top}` });
      if (type !== 'file' || rel !== '') return undefined;
      if (!stdout) throw new InvalidInputError(`'${top}:' writes to stdout, and no stdout stream was given`, { hint: 'pass options.stdout' });
      return {
        write: (data) => {
          onProgress?.((received += data.length), result.files);
          if (!stdout.write(data)) return drained(stdout);
        },
        end: () => {
          result.files += 1;
          result.bytes += size;
        },
      };
    }
    if (target === undefined || !inside(destination, target) || throughLink(destination, target, type === 'directory', realDirs)) {
      result.skipped.push(name);
      return undefined;
    }
    if (type === 'directory') {
      try {
        await mkdir(target, { recursive: true, mode: 0o755 });
      } catch (e) {
        throw fromFsError(e, { doing: 'create the directory', path: target, write: true });
      }
      return undefined;
    }
    if (type === 'file') {
      try {
        ensureDir(dirname(target));
      } catch (e) {
        throw fromFsError(e, { doing: 'create the directory', path: dirname(target), write: true });
      }
      let place;
      try {
        place = placeFor(target, (p) => createdLinks.has(p));
      } catch (e) {
        throw fromFsError(e, { path: target, write: true });
      }
      // Inside a downloaded directory a link the user had there may be followed only to a place inside.
      if (rel !== '' && place.path !== target && !inside(realDestination(), place.path)) {
        result.skipped.push(name);
        return undefined;
      }
      // Written beside its place and renamed: a broken download never leaves a half file under the real name.
      const tmp = `${place.path}.tej-${tmpTag}-${result.files}`;
      const mode = (header.mode ?? 0o644) & 0o755;
      const path = place.path === target ? target : `${target}' (-> '${place.path}`;
      const writer = await FileWriter.open(place, tmp, mode, (n) => onProgress?.((received += n), result.files), (e) => fromFsError(e, { path, write: true }));
      current = writer;
      return {
        write: (data) => writer.write(data),
        end: () => {
          const ended = writer.end();
          const counted = () => {
            current = undefined;
            createdLinks.delete(target);
            result.files += 1;
            result.bytes += size;
          };
          if (ended) return ended.then(counted);
          counted();
        },
      };
    }
    if (type === 'symlink' && header.linkname && !isAbsolute(header.linkname) && inside(destination, resolve(dirname(target), header.linkname)) && replaceable(target)) {
      try {
        await mkdir(dirname(target), { recursive: true });
        try {
          unlinkSync(target); // a regular file or a symlink (replaceable): as tar would
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        await symlink(header.linkname, target);
      } catch (e) {
        throw fromFsError(e, { doing: 'create the symlink', path: target, write: true });
      }
      createdLinks.add(target);
      return undefined;
    }
    result.skipped.push(name);
    return undefined;
  };

  let current: FileWriter | undefined; // the file being written: its temporary file goes if the stream breaks
  const sink = new TarSink(onEntry, marker);
  const done = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    sink.on('error', (e) => {
      current?.abort();
      reject(e);
    });
    sink.on('close', () => {
      current?.abort();
      if (!sink.writableFinished) reject(sink.errored ?? new Error('the download stream was closed before its end'));
    });
  });
  const judged = done.finally(() => {
    // Where a link leads depends on the links written after it: judged once they are all there.
    for (const link of removeEscapingLinks(destination, createdLinks)) result.skipped.push(relative(dirname(destination), link));
  });
  return { sink, result: judged.then(() => result) };
}

/** Consumes `source` (a tar stream) and writes it to `destination` ('-' = `stdout`, which must then be given). */
export async function extractDownload(
  source: Readable,
  destination: string,
  stdout: Writable | undefined,
  /** Called as file content arrives: bytes and files so far. */
  onProgress?: (bytes: number, files: number) => void,
): Promise<ExtractResult> {
  const { sink, result } = downloadSink(destination, stdout, onProgress);
  try {
    await pipeline(source, sink);
  } catch (e) {
    await result.catch(() => undefined); // links judged before the failure is reported
    throw e;
  }
  return result;
}
