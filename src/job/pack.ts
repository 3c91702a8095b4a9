// Packs a job directory and its metadata into the one tar stream that `submit` reads: meta/..., work/...,
// and last the empty `end-<nonce>` marker that proves the stream arrived whole.
import { accessSync, closeSync, constants, createReadStream, lstatSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
export type { JobMeta } from './meta.js';
import { TAR_BLOCK, TAR_END, specialTarHeader, tarHeader, tarPadded, writeUstarHeader, type TarEntry } from '../tar.js';
import { InvalidInputError, LocalPathNotFoundError } from '../errors.js';
import { openIfRegular } from '../regular-file.js';
import { metaFiles, type JobMeta } from './meta.js';

export interface ScannedEntry {
  /** Path relative to the job directory, with / separators. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  mtime: Date;
  linkname?: string;
}

export interface Scan {
  dir: string;
  entries: ScannedEntry[];
  bytes: number;
}

/** Refuses a job directory that does not exist or is not a directory. */
export function checkJobDir(dir: string): void {
  let top;
  try {
    top = lstatSync(dir);
  } catch {
    throw new LocalPathNotFoundError(`job directory '${dir}' does not exist`);
  }
  if (!top.isDirectory()) throw new InvalidInputError(`'${dir}' is not a directory`, { hint: 'pass the directory that holds start.sh' });
}

/** Walks the directory before anything is sent, so that a bad file fails the submit up front. */
export async function scanJobDir(dir: string, exclude: (path: string, isDirectory: boolean) => boolean = () => false): Promise<Scan> {
  checkJobDir(dir);
  const entries: ScannedEntry[] = [];
  let bytes = 0;
  // Synchronous calls: a job of thousands of small files scans in milliseconds instead of a thread-pool
  // round trip per call. Paths are built by concatenation (path.relative resolves both sides each time).
  const uid = process.getuid?.();
  function walk(abs: string, prefix: string): void {
    for (const dirent of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(abs, dirent.name);
      const path = prefix + dirent.name;
      // Decided from the directory entry alone: an excluded file is never opened, an excluded directory never walked.
      if (exclude(path, dirent.isDirectory())) continue;
      const st = lstatSync(full);
      // mtimeMs floored: Node's st.mtime rounds to the nearest millisecond, so that a time of x.9996 s
      // went into the tar header as x + 1 (tar and the host's files keep whole seconds, cut down)
      const base = { path, mode: st.mode & 0o777, mtime: new Date(Math.floor(st.mtimeMs)) };
      if (st.isDirectory()) {
        try {
          accessSync(full, constants.R_OK | constants.X_OK);
        } catch {
          throw new InvalidInputError(`cannot read directory '${full}'`, { hint: 'fix its permissions or exclude it' });
        }
        entries.push({ ...base, type: 'directory', size: 0 });
        walk(full, `${path}/`);
      } else if (st.isFile()) {
        // Refused here, before anything is sent. The mode bits answer for most files without a syscall
        // (world-readable, or ours and readable by us); access() decides the rest (groups, ACLs).
        // (Not "root reads everything": root without CAP_DAC_OVERRIDE does not.)
        const readable = st.mode & 0o004 || (st.uid === uid && st.mode & 0o400);
        if (!readable) {
          try {
            accessSync(full, constants.R_OK);
          } catch {
            throw new InvalidInputError(`cannot read file '${full}'`, { hint: 'fix its permissions or exclude it' });
          }
        }
        entries.push({ ...base, type: 'file', size: st.size });
        bytes += st.size;
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, type: 'symlink', size: 0, linkname: readlinkSync(full) });
      } else {
        throw new InvalidInputError(`'${full}' is a special file (fifo, socket or device) and cannot be uploaded`, {
          hint: 'remove it from the job directory or exclude it',
        });
      }
    }
  }
  walk(dir, '');
  if (entries.length === 0) throw new InvalidInputError(`job directory '${dir}' is empty`, { hint: 'put a start.sh in it' });
  return { dir, entries, bytes };
}


// Files are read into the archive's own buffers, a chunk at a time; an entry bigger than a chunk is
// streamed as it is read.
const CHUNK_BYTES = 256 * 1024;

export interface PackOptions {
  onProgress?: PackProgress;
  /** Size of the buffers the archive is written into. @default 256 KiB */
  chunkBytes?: number;
  /** Let other events run after this many ms of packing (the CLI packs while its connection opens). */
  sliceMs?: number;
  store?: StoreParts;
}

export interface PackProgress {
  (bytes: number, files: number): void;
}

export interface PackPart {
  entry: TarEntry;
  content?: Buffer;
  /** Where a file's content is read from. */
  path?: string;
}

/** A submit through the content store (src/job/store.ts): the files left out of work/, and store/... */
export interface StoreParts {
  placed: Set<string>;
  parts: PackPart[];
}

/** The archive's entries in order: meta/, work/, store/ (with a StoreParts), then the empty `end-<nonce>` marker. */
function* archiveParts(scan: Scan, meta: JobMeta, nonce: string, store?: StoreParts): Generator<PackPart> {
  const now = new Date();
  yield { entry: { name: 'meta/', type: 'directory', mode: 0o700, mtime: now } };
  for (const [name, content] of metaFiles(meta)) {
    const data = Buffer.from(content);
    yield { entry: { name: `meta/${name}`, type: 'file', mode: 0o600, mtime: now, size: data.length }, content: data };
  }
  yield { entry: { name: 'work/', type: 'directory', mode: 0o700, mtime: now } };
  const dir = join(scan.dir, '/'); // then concatenation: join() normalizes again for each of thousands of files
  for (const e of scan.entries) {
    const name = `work/${e.path}`;
    if (e.type === 'directory') yield { entry: { name: `${name}/`, type: 'directory', mode: e.mode | 0o700, mtime: e.mtime } };
    else if (e.type === 'symlink') yield { entry: { name, type: 'symlink', linkname: e.linkname, mode: 0o777, mtime: e.mtime } };
    else if (!store?.placed.has(e.path)) yield { entry: { name, type: 'file', size: e.size, mode: e.mode | 0o600, mtime: e.mtime }, path: dir + e.path };
  }
  if (store) yield* store.parts;
  yield { entry: { name: `end-${nonce}`, type: 'file', mode: 0o600, mtime: now, size: 0 }, content: Buffer.alloc(0) };
}

function changedSize(path: string): InvalidInputError {
  return new InvalidInputError(`'${path}' changed size while it was being sent`, { hint: 'submit when nothing writes into the job directory' });
}

/**
 * Opens a file the scan found regular, for reading. Non-blocking: a FIFO put in its place since would
 * wait for a writer, on the main thread for ever (Ctrl-C's handler never runs); it is refused instead.
 */
export function openRegular(path: string): number {
  const fd = openIfRegular(path);
  if (fd === undefined) throw new InvalidInputError(`'${path}' is no longer a regular file`, { hint: 'submit when nothing changes the job directory' });
  return fd;
}

/**
 * Reads a file of `size` bytes into buf at off, with one read of size + 1 (open, read, close): a regular
 * file reads short only at its end, so that one read also shows it has not grown. buf must have a
 * byte to spare after the file; it is written only when the file grew, which fails the pack.
 */
function readInto(path: string, size: number, buf: Buffer, off: number): void {
  const fd = openRegular(path);
  try {
    let got = 0;
    for (;;) {
      const want = size + 1 - got;
      const n = readSync(fd, buf, off + got, want, got);
      got += n;
      if (n < want || got > size) break;
    }
    if (got !== size) throw changedSize(path);
  } finally {
    closeSync(fd);
  }
}

/** A file bigger than a chunk, as it is read (the tar header promised the scan's size: checked). */
async function* streamFile(path: string, size: number): AsyncGenerator<Buffer> {
  let got = 0;
  for await (const chunk of createReadStream(path, { fd: openRegular(path), highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    got += chunk.length;
    if (got > size) throw changedSize(path);
    yield chunk;
  }
  if (got !== size) throw changedSize(path);
}

/**
 * The job as one tar, in chunks of chunkBytes (an entry bigger than that in pieces of its own). The
 * headers and small files are written straight into each chunk's buffer: no stream per entry, no copy.
 */
export async function* packChunks(scan: Scan, meta: JobMeta, nonce: string, options: PackOptions = {}): AsyncGenerator<Buffer> {
  const size = options.chunkBytes ?? CHUNK_BYTES;
  const fresh = () => Buffer.alloc(size + 1); // zeroed: padding; +1 for readInto's spare byte
  let buf = fresh();
  let off = 0;
  let sent = 0;
  let files = 0;
  let sliceStart = performance.now();
  for (const { entry, content, path } of archiveParts(scan, meta, nonce, options.store)) {
    const length = entry.size ?? 0;
    const special = specialTarHeader(entry); // mostly undefined: one block, written in place
    const header = special?.length ?? TAR_BLOCK;
    const need = header + tarPadded(length);
    if (off + need > size && off > 0) {
      yield buf.subarray(0, off);
      buf = fresh();
      off = 0;
    }
    if (need <= size) {
      if (special) buf.set(special, off);
      else writeUstarHeader(entry, buf, off);
      off += header;
      if (content) buf.set(content, off);
      else if (path) readInto(path, length, buf, off);
      off += tarPadded(length);
    } else {
      yield special ?? tarHeader(entry);
      if (content) yield content;
      else if (path) {
        // counted as it is read, so that a big file moves the progress bar while it is sent
        for await (const chunk of streamFile(path, length)) {
          yield chunk;
          options.onProgress?.((sent += chunk.length), files);
        }
        sent -= length;
      }
      if (tarPadded(length) > length) yield Buffer.alloc(tarPadded(length) - length);
    }
    if (path) {
      sent += length;
      files += 1;
      options.onProgress?.(sent, files);
    }
    if (options.sliceMs !== undefined && performance.now() - sliceStart > options.sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  if (off + TAR_END.length > size) {
    yield buf.subarray(0, off);
    off = 0;
    buf = fresh();
  }
  yield buf.subarray(0, off + TAR_END.length); // the buffer is zeroed: the end blocks are already there
}

/** Streams the job as one tar: meta/, work/, then the end marker. Backpressure comes from the reader. */
export function packJob(scan: Scan, meta: JobMeta, nonce: string, onProgress?: PackProgress, store?: StoreParts): Readable {
  return Readable.from(packChunks(scan, meta, nonce, { onProgress, ...(store ? { store } : {}) }), { objectMode: false });
}
