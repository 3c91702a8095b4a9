// Packs a job directory and its metadata into the one tar stream that `submit` reads: meta/..., work/...,
// and last the empty `end-<nonce>` marker that proves the stream arrived whole.
import { accessSync, closeSync, constants, createReadStream, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { tar, type Pack } from '../tar.js';
import { InvalidInputError, LocalPathNotFoundError } from '../errors.js';

export interface ScannedEntry {
  /** Path relative to the job directory, with / separators. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  mtime: Date;
  linkname?: string;
}

export interface JobMeta {
  /** Script path relative to the job directory, or a shell command line. */
  script?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  stdout?: string;
  stderr?: string;
  nproc?: number;
  timeLimit?: number;
  /** Memory for the job, e.g. 4G (slurm: --mem). */
  memory?: string;
  /** GPUs (slurm: --gres=gpu:N). */
  gpus?: number;
  /** The slurm plugin's options: meta/slurm/{partition,account,qos}, raw sbatch words in meta/slurm/args/. */
  slurm?: { partition?: string; account?: string; qos?: string; args?: string[] };
  /** The validated tej.json and CLI overrides, for plugins that want more. */
  spec?: unknown;
  /** tej.json's labels: meta/labels, one line of JSON, reported by status and list. */
  labels?: Record<string, string>;
  /** tej.json's notify.command: meta/notify-command, run by the wrapper when the job ends. */
  notifyCommand?: string;
  /** What the client records about the submit (git provenance, client host...): meta/job.json, one line. */
  record?: Record<string, unknown>;
}

export interface Scan {
  dir: string;
  entries: ScannedEntry[];
  bytes: number;
}

/** Walks the directory before anything is sent, so that a bad file fails the submit up front. */
export async function scanJobDir(dir: string, exclude: (path: string, isDirectory: boolean) => boolean = () => false): Promise<Scan> {
  let top;
  try {
    top = await lstat(dir);
  } catch {
    throw new LocalPathNotFoundError(`tej: job directory '${dir}' does not exist`);
  }
  if (!top.isDirectory()) throw new InvalidInputError(`tej: '${dir}' is not a directory`, { hint: 'pass the directory that holds start.sh' });
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
      const base = { path, mode: st.mode & 0o777, mtime: st.mtime };
      if (st.isDirectory()) {
        try {
          accessSync(full, constants.R_OK | constants.X_OK);
        } catch {
          throw new InvalidInputError(`tej: cannot read directory '${full}'`, { hint: 'fix its permissions or exclude it' });
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
            throw new InvalidInputError(`tej: cannot read file '${full}'`, { hint: 'fix its permissions or exclude it' });
          }
        }
        entries.push({ ...base, type: 'file', size: st.size });
        bytes += st.size;
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, type: 'symlink', size: 0, linkname: readlinkSync(full) });
      } else {
        throw new InvalidInputError(`tej: '${full}' is a special file (fifo, socket or device) and cannot be uploaded`, {
          hint: 'remove it from the job directory or exclude it',
        });
      }
    }
  }
  walk(dir, '');
  if (entries.length === 0) throw new InvalidInputError(`tej: job directory '${dir}' is empty`, { hint: 'put a start.sh in it' });
  return { dir, entries, bytes };
}

function metaFiles(meta: JobMeta): [string, string][] {
  const files: [string, string][] = [];
  if (meta.command !== undefined) files.push(['command', meta.command]);
  else if (meta.script !== undefined) files.push(['script', meta.script]);
  (meta.args ?? []).forEach((a, i) => files.push([`args/${String(i).padStart(4, '0')}`, a]));
  for (const [k, v] of Object.entries(meta.env ?? {})) files.push([`env/${k}`, v]);
  if (meta.stdout) files.push(['stdout', meta.stdout]);
  if (meta.stderr) files.push(['stderr', meta.stderr]);
  if (meta.nproc) files.push(['nproc', String(meta.nproc)]);
  if (meta.timeLimit) files.push(['time_limit', String(meta.timeLimit)]);
  if (meta.memory) files.push(['memory', meta.memory]);
  if (meta.gpus !== undefined) files.push(['gpus', String(meta.gpus)]);
  const slurm = meta.slurm ?? {};
  for (const key of ['partition', 'account', 'qos'] as const) if (slurm[key]) files.push([`slurm/${key}`, slurm[key]!]);
  (slurm.args ?? []).forEach((a, i) => files.push([`slurm/args/${String(i).padStart(4, '0')}`, a]));
  if (meta.spec !== undefined) files.push(['spec.json', JSON.stringify(meta.spec, null, 2) + '\n']);
  if (meta.labels && Object.keys(meta.labels).length > 0) files.push(['labels', JSON.stringify(meta.labels) + '\n']);
  if (meta.notifyCommand !== undefined) files.push(['notify-command', meta.notifyCommand]);
  if (meta.record !== undefined) files.push(['job.json', JSON.stringify(meta.record) + '\n']);
  return files;
}

/**
 * Adds an entry whose own error events are ignored: when the receiver stops early (queue absent, id
 * taken) the pack is destroyed, and with it every entry, finished ones included. That failure is
 * reported through the pack; an entry with no listener would crash the process instead.
 */
export function addEntry(
  pack: Pack,
  header: Parameters<Pack['entry']>[0],
  content?: string | Buffer,
  callback?: (err?: Error | null) => void,
): ReturnType<Pack['entry']> {
  const entry = content === undefined ? pack.entry(header, callback) : pack.entry(header, content, callback ?? (() => undefined));
  entry.on('error', () => undefined);
  return entry;
}

/** Adds an entry with its whole content; resolves once the pack has taken it (its backpressure). */
function addWhole(pack: Pack, header: Parameters<Pack['entry']>[0], content: Buffer): Promise<void> {
  return new Promise((resolve, reject) => addEntry(pack, header, content, (err) => (err ? reject(err) : resolve())));
}

// Files up to this size are read in one synchronous call: streaming each of thousands of small files
// costs a millisecond of stream machinery apiece, twenty times what reading it does.
const WHOLE_FILE_MAX = 1 << 20;

function readWhole(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    // One byte more than the scan saw: a regular file reads short only at its end, so a single read
    // both fills the buffer and shows that the file has not grown (open, read, close per file).
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const want = size + 1 - got;
      const n = readSync(fd, buf, got, want, got);
      got += n;
      if (n < want || got > size) break; // short: the end of the file; more than size: it grew
    }
    if (got !== size) {
      throw new InvalidInputError(`tej: '${path}' changed size while it was being sent`, { hint: 'submit when nothing writes into the job directory' });
    }
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

export interface PackProgress {
  (bytes: number, files: number): void;
}

/** Streams the job as one tar: meta/, work/, then the end marker. Backpressure comes from the pack. */
export function packJob(scan: Scan, meta: JobMeta, nonce: string, onProgress?: PackProgress): Readable {
  const pack = tar().pack();
  (async () => {
    const now = new Date();
    addEntry(pack, { name: 'meta/', type: 'directory', mode: 0o700, mtime: now });
    for (const [name, content] of metaFiles(meta)) addEntry(pack, { name: `meta/${name}`, mode: 0o600, mtime: now }, content);
    addEntry(pack, { name: 'work/', type: 'directory', mode: 0o700, mtime: now });
    let sent = 0;
    let files = 0;
    for (const e of scan.entries) {
      const name = `work/${e.path}`;
      if (e.type === 'directory') {
        addEntry(pack, { name: `${name}/`, type: 'directory', mode: e.mode | 0o700, mtime: e.mtime });
      } else if (e.type === 'symlink') {
        addEntry(pack, { name, type: 'symlink', linkname: e.linkname, mode: 0o777, mtime: e.mtime });
      } else {
        const header = { name, size: e.size, mode: e.mode | 0o600, mtime: e.mtime };
        const path = join(scan.dir, e.path);
        if (e.size <= WHOLE_FILE_MAX) {
          await addWhole(pack, header, readWhole(path, e.size));
        } else {
          const file = createReadStream(path, { highWaterMark: 1 << 20 });
          const before = sent;
          // counted as tar-stream takes the chunks, so a big file moves the bar while it is sent
          if (onProgress) file.on('data', (chunk) => onProgress((sent += chunk.length), files));
          await pipeline(file, addEntry(pack, header));
          sent = before;
        }
        sent += e.size;
        files += 1;
        onProgress?.(sent, files);
      }
    }
    addEntry(pack, { name: `end-${nonce}`, mode: 0o600, mtime: now }, '');
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable; // a streamx stream: node pipeline accepts it
}
