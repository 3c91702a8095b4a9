// The client's cache of file hashes for the content store (src/job/store.ts): a second submit of an
// unchanged 200 MB directory reads none of it again (sha256 runs at some 150 MB/s on a loaded machine).
// A file's hash is reused only while its size, mtime, ctime and inode are those it was hashed with, as
// git's index does; and, as git does for "racily clean" entries, a file modified less than RACY_MS
// before it was hashed is not cached at all: a second write within the file system's timestamp
// granularity could keep all four.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../code-cache.js';

const RACY_MS = 2000;
/** Past this many entries the cache starts over (a cache, never a store of record). */
const MAX_ENTRIES = 200_000;

type Entry = [size: number, mtimeNs: string, ctimeNs: string, ino: string, hash: string];

export class HashCache {
  private entries: Record<string, Entry>;
  private changed = false;
  private constructor(private readonly file: string | undefined, entries: Record<string, Entry>, private readonly started: number) {
    this.entries = entries;
  }

  /**
   * The cache of this user (an unreadable or damaged one is an empty one); TEJ_HASH_CACHE=0: none.
   * NOW: when the hashing starts (tests move it).
   */
  static load(now = Date.now()): HashCache {
    if (process.env.TEJ_HASH_CACHE === '0') return new HashCache(undefined, {}, now);
    const file = join(cacheDir(), 'hashes-v1.json');
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return new HashCache(file, data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, Entry>) : {}, now);
    } catch {
      return new HashCache(file, {}, now);
    }
  }

  private key(path: string): { stat: Entry | undefined } {
    try {
      const st = statSync(path, { bigint: true });
      return { stat: [Number(st.size), String(st.mtimeNs), String(st.ctimeNs), String(st.ino), ''] };
    } catch {
      return { stat: undefined };
    }
  }

  /** The hash of PATH when the cache holds one for the file as it is now, and its identity now (for set()): one stat. */
  lookup(path: string): { hash: string | undefined; stat: Entry | undefined } {
    const { stat } = this.key(path);
    const e = this.entries[path];
    if (!stat || !Array.isArray(e) || e.length !== 5) return { hash: undefined, stat };
    if (stat[0] !== e[0] || stat[1] !== e[1] || stat[2] !== e[2] || stat[3] !== e[3]) return { hash: undefined, stat };
    return { hash: /^[0-9a-f]{64}$/.test(e[4]) ? e[4] : undefined, stat };
  }

  /** Records HASH for PATH as STAT (taken before it was read) says it was, unless racily recent. */
  set(path: string, before: Entry | undefined, hash: string): void {
    if (!this.file || !before) return;
    const after = this.key(path).stat;
    if (!after || after[1] !== before[1] || after[0] !== before[0]) return; // changed while read
    // the later of mtime and ctime: a write that set its mtime back still moved its ctime
    const changedMs = Number((BigInt(before[1]) > BigInt(before[2]) ? BigInt(before[1]) : BigInt(before[2])) / 1_000_000n);
    if (changedMs > this.started - RACY_MS) return;
    this.entries[path] = [before[0], before[1], before[2], before[3], hash];
    this.changed = true;
  }

  /** Writes the cache back (a temp file renamed: concurrent submits each leave a whole one). */
  save(): void {
    if (!this.file || !this.changed) return;
    try {
      if (Object.keys(this.entries).length > MAX_ENTRIES) this.entries = {};
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(tmp, JSON.stringify(this.entries), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch {
      // a cache that cannot be written costs the next submit a hash, nothing else
    }
  }
}
