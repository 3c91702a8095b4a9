// Incremental uploads through the queue's content store (remote-scripts/lib/store.sh, docs/protocol.md
// "The content store"): the client hashes the job's files while it plans, asks the host in one round trip
// which contents (and tar headers: blobs too) it lacks, and sends only those; the host joins the headers
// to the contents it holds into the tar it extracts.
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { ProtocolError } from '../errors.js';
import type { QueueCalls } from '../remote/call.js';
import { HashCache } from './hash-cache.js';
import { tarHeader } from '../tar.js';
import { openRegular, type PackPart, type StoreParts } from './pack.js';
import type { JobPlan } from './plan.js';

/** Jobs up to this size skip the store (unless asked): their whole upload is a fraction of a second. */
export const STORE_MIN_BYTES = 16 * 1024 * 1024;

/** Files smaller than this always travel: their content costs less than a header and a hash line. */
export const STORE_MIN_FILE = 1024;

/** The sha256 of each file the store may hold (STORE_MIN_FILE bytes or more), by path. */
export type ContentHashes = Map<string, string>;

/** Whether a submit of this plan uses the store: `store` forces it on (true) or off (false). */
export function usesStore(plan: JobPlan, store: boolean | undefined): boolean {
  return store ?? plan.bytes > STORE_MIN_BYTES;
}

/**
 * Hashes the files the store may hold (each read once, as the upload would), but for those the client's
 * hash cache (src/job/hash-cache.ts) knows unchanged. Reads are synchronous, through one buffer, in
 * slices of HASH_SLICE_MS with a turn of the event loop between them (the SSH handshake runs beside
 * this). 2000 files of 100 KiB took 2.5-2.9 s through a read stream each: 50000 page faults for the
 * streams' fresh 1 MiB buffers, and four trips to the thread pool per file; this way 0.7-1.1 s in all
 * for a `submit --dry-run --store` (connection and the store's answer included).
 */
export async function hashContents(plan: JobPlan): Promise<ContentHashes> {
  const files = plan.entries.filter((e) => e.type === 'file' && e.size >= STORE_MIN_FILE);
  const out: ContentHashes = new Map();
  const cache = HashCache.load();
  const buf = Buffer.allocUnsafe(HASH_READ_BYTES);
  let sliceStart = performance.now();
  const pause = async () => {
    if (performance.now() - sliceStart < HASH_SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  for (const e of files) {
    const path = resolve(plan.dir, e.path);
    const known = cache.lookup(path);
    if (known.hash) {
      out.set(e.path, known.hash);
    } else {
      const hex = await hashFile(path, buf, pause);
      cache.set(path, known.stat, hex);
      out.set(e.path, hex);
    }
    await pause();
  }
  cache.save();
  return out;
}

/** What hashContents reads at a time, and for how long it runs before it lets other work run. */
const HASH_READ_BYTES = 1 << 20;
const HASH_SLICE_MS = 4;

/** The sha256 of the file at PATH, read through BUF, with PAUSE between reads. */
async function hashFile(path: string, buf: Buffer, pause: () => Promise<void>): Promise<string> {
  const hash = createHash('sha256');
  const fd = openRegular(path);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      await pause();
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The host's answer: the distinct blobs it lacks (the rest it has claimed for this submit). */
export interface StoreAnswer {
  lacking: Set<string>;
}

/**
 * Asks the host which of BLOBS (sha256s) it lacks; undefined when it keeps no store (no sha256 tool there).
 * A submit's question (a nonce, not `-`) is its first call: it sets up a queue not there yet, as submit does.
 */
export async function askStore(q: Pick<QueueCalls, 'host' | 'call' | 'retrying'>, nonce: string, blobs: string[]): Promise<StoreAnswer | undefined> {
  const distinct = [...new Set(blobs)];
  // as arguments: through a library session's shell, with no channel of its own (they travel on stdin)
  const { reply } = await q.retrying('store', () => q.call('store', ['lacks', nonce, ...distinct], { autoSetup: nonce !== '-' }));
  const r = reply!.header;
  if (r.store !== 'on') return undefined;
  const lacking = new Set<string>();
  for (const n of (r.lacks ?? '').split(',')) {
    if (n === '') continue;
    const h = distinct[Number(n)];
    if (h === undefined) throw new ProtocolError(`the content store of ${q.host} answered an unknown line '${n}'`);
    lacking.add(h);
  }
  return { lacking };
}

/** Each stored file's tar header (its name, mode, mtime and size) and that header's sha256. */
export type StoreHeaders = Map<string, { header: Buffer; hash: string }>;

/** The headers of the files of HASHES: blobs of the store too, so that an unchanged file sends neither. */
export function storeHeaders(plan: JobPlan, hashes: ContentHashes): StoreHeaders {
  const out: StoreHeaders = new Map();
  for (const e of plan.entries) {
    if (e.type !== 'file' || !hashes.has(e.path)) continue;
    const header = tarHeader({ name: e.path, type: 'file', size: e.size, mode: e.mode | 0o600, mtime: e.mtime });
    out.set(e.path, { header, hash: createHash('sha256').update(header).digest('hex') });
  }
  return out;
}

/** Every blob a store submit names: the files' contents and headers. */
export function storeBlobs(hashes: ContentHashes, headers: StoreHeaders): string[] {
  return [...hashes.values(), ...[...headers.values()].map((h) => h.hash)];
}

/** What a store submit sends, and what it leaves to the host: for the --json figures and progress. */
export interface StoreUpload extends StoreParts {
  /** Bytes of file content sent, and the files they are read from. */
  uploadedBytes: number;
  uploadedFiles: number;
  reusedFiles: number;
  reusedBytes: number;
}

/**
 * The upload's store part: a line of store/plan per file of HASHES placed from blobs (its header's blob,
 * its content's blob, its size); a header the host lacks travels as store/new/HASH. A content the host
 * lacks travels once, in work/ with its file (the job's copy, written once), named for the store by a
 * hard link store/new/HASH; another file of that content is placed from that link. Files without a hash
 * travel in work/ as before.
 */
export function storeUpload(plan: JobPlan, hashes: ContentHashes, headers: StoreHeaders, answer: StoreAnswer): StoreUpload {
  const placed = new Set<string>();
  const lines: string[] = [];
  const fresh: PackPart[] = [];
  const sent = new Set<string>();
  const now = new Date();
  let uploadedBytes = 0;
  let uploadedFiles = 0;
  let reusedFiles = 0;
  let reusedBytes = 0;
  const where = (hash: string) => (answer.lacking.has(hash) ? 'new' : 'old');
  const blob = (hash: string, part: Omit<PackPart, 'entry'>, size: number) => {
    if (!answer.lacking.has(hash) || sent.has(hash)) return;
    sent.add(hash);
    fresh.push({ entry: { name: `store/new/${hash}`, type: 'file', size, mode: 0o400, mtime: now }, ...part });
  };
  for (const e of plan.entries) {
    const hash = hashes.get(e.path);
    const head = headers.get(e.path);
    if (e.type !== 'file' || hash === undefined || head === undefined) {
      if (e.type === 'file') {
        uploadedBytes += e.size;
        uploadedFiles += 1;
      }
      continue;
    }
    blob(head.hash, { content: head.header }, head.header.length);
    if (answer.lacking.has(hash) && !sent.has(hash)) {
      // A new content travels in work/ as any file does: the host writes it once, as the job's copy,
      // and the hard link store/new/HASH names it for the store, which keeps a copy of its own once
      // that copy's hash is checked (lib/store.sh, store_place).
      sent.add(hash);
      fresh.push({ entry: { name: `store/new/${hash}`, type: 'link', linkname: `work/${e.path}`, mode: 0o400, mtime: now } });
      uploadedBytes += e.size;
      uploadedFiles += 1;
      continue;
    }
    placed.add(e.path);
    lines.push(`${head.hash} ${where(head.hash)} ${hash} ${where(hash)} ${e.size}\n`);
    if (!answer.lacking.has(hash)) {
      reusedFiles += 1;
      reusedBytes += e.size;
    }
  }
  const parts: PackPart[] = [
    { entry: { name: 'store/', type: 'directory', mode: 0o700, mtime: now } },
    { entry: { name: 'store/plan', type: 'file', size: Buffer.byteLength(lines.join('')), mode: 0o600, mtime: now }, content: Buffer.from(lines.join('')) },
  ];
  if (fresh.length > 0) parts.push({ entry: { name: 'store/new/', type: 'directory', mode: 0o700, mtime: now } }, ...fresh);
  return { placed, parts, uploadedBytes, uploadedFiles, reusedFiles, reusedBytes };
}
