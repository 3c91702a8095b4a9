// Packs a job directory and its metadata into the one tar stream that `submit` reads: meta/..., work/...,
// and last the empty `end-<nonce>` marker that proves the stream arrived whole.
import { createReadStream } from 'node:fs';
import { access, constants, lstat, readdir, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
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
}

export interface Scan {
  dir: string;
  entries: ScannedEntry[];
  bytes: number;
}

/** Walks the directory before anything is sent, so that a bad file fails the submit up front. */
export async function scanJobDir(dir: string, exclude: (path: string) => boolean = () => false): Promise<Scan> {
  let top;
  try {
    top = await lstat(dir);
  } catch {
    throw new LocalPathNotFoundError(`tej: job directory '${dir}' does not exist`);
  }
  if (!top.isDirectory()) throw new InvalidInputError(`tej: '${dir}' is not a directory`, { hint: 'pass the directory that holds start.sh' });
  const entries: ScannedEntry[] = [];
  let bytes = 0;
  async function walk(abs: string): Promise<void> {
    for (const name of (await readdir(abs)).sort()) {
      const full = join(abs, name);
      const path = relative(dir, full).split('\\').join('/');
      if (exclude(path)) continue;
      const st = await lstat(full);
      const base = { path, mode: st.mode & 0o777, mtime: st.mtime };
      if (st.isDirectory()) {
        try {
          await access(full, constants.R_OK | constants.X_OK);
        } catch {
          throw new InvalidInputError(`tej: cannot read directory '${full}'`, { hint: 'fix its permissions or exclude it' });
        }
        entries.push({ ...base, type: 'directory', size: 0 });
        await walk(full);
      } else if (st.isFile()) {
        try {
          await access(full, constants.R_OK);
        } catch {
          throw new InvalidInputError(`tej: cannot read file '${full}'`, { hint: 'fix its permissions or exclude it' });
        }
        entries.push({ ...base, type: 'file', size: st.size });
        bytes += st.size;
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, type: 'symlink', size: 0, linkname: await readlink(full) });
      } else {
        throw new InvalidInputError(`tej: '${full}' is a special file (fifo, socket or device) and cannot be uploaded`, {
          hint: 'remove it from the job directory or exclude it',
        });
      }
    }
  }
  await walk(dir);
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
  return files;
}

/**
 * Adds an entry whose own error events are ignored: when the receiver stops early (queue absent, id
 * taken) the pack is destroyed, and with it every entry, finished ones included. That failure is
 * reported through the pack; an entry with no listener would crash the process instead.
 */
export function addEntry(pack: tar.Pack, header: Parameters<tar.Pack["entry"]>[0], content?: string | Buffer): ReturnType<tar.Pack['entry']> {
  const entry = content === undefined ? pack.entry(header) : pack.entry(header, content);
  entry.on('error', () => undefined);
  return entry;
}

export interface PackProgress {
  (bytes: number, files: number): void;
}

/** Streams the job. Backpressure comes from tar-stream: each file is piped into its entry. */
export function packJob(scan: Scan, meta: JobMeta, nonce: string, onProgress?: PackProgress): Readable {
  const pack = tar.pack();
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
        const entry = addEntry(pack, { name, size: e.size, mode: e.mode | 0o600, mtime: e.mtime });
        await pipeline(createReadStream(join(scan.dir, e.path)), entry);
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
