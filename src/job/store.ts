// Incremental uploads through the queue's content store (remote-scripts/lib/store.sh, docs/protocol.md
// "The content store"): the client hashes the job's files while it plans, asks the host in one round trip
// which contents it lacks, and sends only those; the rest travel as their tar headers alone, which the
// host joins to the contents it holds.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../errors.js';
import type { QueueCalls } from '../remote/call.js';
import { TAR_BLOCK, tarHeader } from '../tar.js';
import type { PackPart, StoreParts } from './pack.js';
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

/** Hashes the files the store may hold, a few at a time (each read once, as the upload would). */
export async function hashContents(plan: JobPlan): Promise<ContentHashes> {
  const files = plan.entries.filter((e) => e.type === 'file' && e.size >= STORE_MIN_FILE);
  const out: ContentHashes = new Map();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const e = files[next++]!;
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(plan.dir, e.path), { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
      out.set(e.path, hash.digest('hex'));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** The host's answer: the distinct contents it lacks (the rest it has claimed for this submit). */
export interface StoreAnswer {
  lacking: Set<string>;
}

/** Asks the host which of HASHES it lacks; undefined when it keeps no store (no sha256 tool there). */
export async function askStore(q: QueueCalls, nonce: string, hashes: ContentHashes): Promise<StoreAnswer | undefined> {
  const distinct = [...new Set(hashes.values())];
  // as arguments: through a library session's shell, with no channel of its own (they travel on stdin)
  const { reply } = await q.retrying('store', () => q.call('store', ['lacks', nonce, ...distinct]));
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

/** What a store submit sends, and what it leaves to the host: for the --json figures and progress. */
export interface StoreUpload extends StoreParts {
  /** Bytes of file content sent, and the files they are read from. */
  uploadedBytes: number;
  uploadedFiles: number;
  reusedFiles: number;
  reusedBytes: number;
}

/**
 * The upload's store part: each file of HASHES goes as its tar header (store/headers, a line of
 * store/plan); a content the host lacks travels once as store/new/HASH. Files without a hash travel in
 * work/ as before.
 */
export function storeUpload(plan: JobPlan, hashes: ContentHashes, answer: StoreAnswer): StoreUpload {
  const placed = new Set<string>();
  const headers: Buffer[] = [];
  const lines: string[] = [];
  const fresh: PackPart[] = [];
  const sent = new Set<string>();
  const now = new Date();
  let uploadedBytes = 0;
  let uploadedFiles = 0;
  let reusedFiles = 0;
  let reusedBytes = 0;
  for (const e of plan.entries) {
    const hash = hashes.get(e.path);
    if (e.type !== 'file' || hash === undefined) {
      if (e.type === 'file') {
        uploadedBytes += e.size;
        uploadedFiles += 1;
      }
      continue;
    }
    placed.add(e.path);
    const header = tarHeader({ name: e.path, type: 'file', size: e.size, mode: e.mode | 0o600, mtime: e.mtime });
    headers.push(header);
    const isNew = answer.lacking.has(hash);
    lines.push(`${hash} ${e.size} ${header.length / TAR_BLOCK} ${isNew ? 'new' : 'old'}\n`);
    if (isNew && !sent.has(hash)) {
      sent.add(hash);
      uploadedBytes += e.size;
      uploadedFiles += 1;
      fresh.push({ entry: { name: `store/new/${hash}`, type: 'file', size: e.size, mode: 0o400, mtime: now }, path: join(plan.dir, e.path) });
    } else if (!isNew) {
      reusedFiles += 1;
      reusedBytes += e.size;
    }
  }
  const file = (name: string, content: Buffer): PackPart => ({ entry: { name, type: 'file', size: content.length, mode: 0o600, mtime: now }, content });
  const parts: PackPart[] = [
    { entry: { name: 'store/', type: 'directory', mode: 0o700, mtime: now } },
    file('store/plan', Buffer.from(lines.join(''))),
    file('store/headers', Buffer.concat(headers)),
  ];
  if (fresh.length > 0) parts.push({ entry: { name: 'store/new/', type: 'directory', mode: 0o700, mtime: now } }, ...fresh);
  return { placed, parts, uploadedBytes, uploadedFiles, reusedFiles, reusedBytes };
}
