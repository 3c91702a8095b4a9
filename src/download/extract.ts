// Writes one downloaded tar stream (one top-level entry: the file or directory asked for) to its
// destination. Entries are checked against tar-slip: nothing is written outside the destination or through
// a symlink, and symlinks that would point out of it are skipped.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative, resolve, isAbsolute, sep } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tar } from '../tar.js';
import { batches } from '../transport/transport.js';
import { InvalidInputError } from '../errors.js';
import type { DownloadSpec } from './spec.js';

export interface ExtractResult {
  /** Where it went: a local path, or '-' for stdout. */
  destination: string;
  files: number;
  bytes: number;
  skipped: string[];
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
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
function throughLink(root: string, target: string, self: boolean, realDirs: Set<string>): boolean {
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

export async function destinationFor(spec: DownloadSpec, cwd: string): Promise<string> {
  const name = basename(spec.remote === '.' ? 'job' : spec.remote);
  if (spec.target.kind === 'cwd') return resolve(cwd, name);
  if (spec.target.kind === 'path') {
    const p = resolve(cwd, spec.target.path);
    return spec.target.path.endsWith('/') || (await isDirectory(p)) ? join(p, name) : p;
  }
  return '-';
}

// Files up to this size are gathered and written in one synchronous call: a write stream per small
// file costs more in stream machinery than the write itself.
const WHOLE_FILE_MAX = 1 << 20;

/** Writes a small file beside its target, then renames it into place. */
async function writeWhole(entry: AsyncIterable<unknown>, tmp: string, target: string, mode: number): Promise<void> {
  const parts: Buffer[] = [];
  for await (const chunk of entry) parts.push(chunk as Buffer);
  try {
    writeFileSync(tmp, Buffer.concat(parts), { mode, flag: 'wx' });
    renameSync(tmp, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(tmp, { force: true }); // never a file that was there before
    throw e;
  }
}

/**
 * Writes a big file beside its target in writes of 1 MiB (the chunks arrive in SSH packets of 32 KiB:
 * a write each cost a third more time than the transfer itself), then renames it into place.
 */
async function writeStreamed(entry: AsyncIterable<Uint8Array>, tmp: string, target: string, mode: number, onWrite: (n: number) => void): Promise<void> {
  const file = await open(tmp, 'wx', mode);
  try {
    // 1 MiB per write(v) call, not one per SSH packet, and no copy into one buffer first.
    for await (const { parts, length } of batches(entry, 1 << 20)) {
      const { bytesWritten } = await file.writev(parts); // at the current position: batches follow each other
      if (bytesWritten < length) await file.writeFile(Buffer.concat(parts, length).subarray(bytesWritten)); // a short write: the rest
      onWrite(length);
    }
    await file.close();
    await rename(tmp, target);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Consumes `source` (a tar stream) and writes it to `destination` ('-' = `stdout`). */
export async function extractDownload(
  source: Readable,
  destination: string,
  stdout: Writable,
  /** Called as file content arrives: bytes and files so far. */
  onProgress?: (bytes: number, files: number) => void,
): Promise<ExtractResult> {
  const extract = tar().extract();
  const result: ExtractResult = { destination, files: 0, bytes: 0, skipped: [] };
  let top: string | undefined;
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
  const done = pipeline(source, extract);
  done.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  let received = 0;
  // Counts file content on its way to disk (a transform in the pipeline, so no chunk can be missed).
  const counted = () =>
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        onProgress?.((received += chunk.length), result.files);
        cb(null, chunk);
      },
    });
  for await (const entry of extract) {
    // The helper names an entry that starts with '-' as ./-name (so that tar does not take it for an option).
    const name = entry.header.name.replace(/^(\.\/)+(?=.)/, '').replace(/\/+$/, '');
    top ??= name.split('/')[0];
    const rel = name === top ? '' : name.startsWith(`${top}/`) ? name.slice(top!.length + 1) : undefined;
    const target = rel === undefined ? undefined : normalize(join(destination, rel));
    const type = entry.header.type;
    if (destination === '-') {
      if (type === 'directory') throw new InvalidInputError(`tej: '${top}' is a directory and cannot be printed to stdout`, { hint: `download it to a path instead: ${top}:./${top}` });
      if (type !== 'file' || rel !== '') {
        entry.resume();
        continue;
      }
      await pipeline(entry, counted(), stdout, { end: false });
      result.files += 1;
      result.bytes += entry.header.size ?? 0;
      continue;
    }
    if (target === undefined || !inside(destination, target) || throughLink(destination, target, type === 'directory', realDirs)) {
      result.skipped.push(name);
      entry.resume();
      continue;
    }
    if (type === 'directory') {
      await mkdir(target, { recursive: true, mode: 0o755 });
      entry.resume();
    } else if (type === 'file') {
      ensureDir(dirname(target));
      // Write beside the target and rename: a broken download never leaves a half file under the real name.
      const tmp = `${target}.tej-${tmpTag}-${result.files}`;
      const mode = (entry.header.mode ?? 0o644) & 0o755;
      if ((entry.header.size ?? 0) <= WHOLE_FILE_MAX) {
        await writeWhole(entry, tmp, target, mode);
        onProgress?.((received += entry.header.size ?? 0), result.files);
      } else {
        await writeStreamed(entry as AsyncIterable<Uint8Array>, tmp, target, mode, (n) => onProgress?.((received += n), result.files));
      }
      result.files += 1;
      result.bytes += entry.header.size ?? 0;
    } else if (type === 'symlink' && entry.header.linkname && !isAbsolute(entry.header.linkname) && inside(destination, resolve(dirname(target), entry.header.linkname))) {
      await mkdir(dirname(target), { recursive: true });
      await rm(target, { force: true });
      await symlink(entry.header.linkname, target);
      entry.resume();
    } else {
      result.skipped.push(name);
      entry.resume();
    }
  }
  await done;
  return result;
}
