// What was made of a small file (a config parsed and checked), kept while the file stays the same: a
// --persist worker runs command after command, and read and parsed ~/.ssh/config and tej's config
// file for each (a file read, or the ENOENT of one that is not there, is trips to libuv's thread pool).
// The same file is one whose device, inode, size, mtime and ctime are the same (an editor that saves
// in place still moves ctime), or still none at all. Those times come from the kernel's coarse clock,
// so two changes within one of its ticks can leave both as they were: a file changed in the last two
// seconds is not kept (as the hash cache does, and git's index). A FIFO or a directory is never kept:
// it goes the reader's own way each time.
import { statSync } from 'node:fs';

/** How recent a change must not be for the file to be kept (ms). */
const SETTLED_MS = 2000;
const NONE = 'none';

export class FileMemo<T> {
  private kept?: { file: string; identity: string; value: T };

  /** @param now  the clock (ms since the epoch) that says whether a file's last change is recent */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * FILE's identity: that of a regular file not changed in the last two seconds, or `none` when there
   * is no such file; undefined for anything else (another type, a recent change, a stat that failed).
   */
  identity(file: string): string | undefined {
    try {
      const st = statSync(file, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) return NONE;
      if (!st.isFile()) return undefined;
      const changed = Number((st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs) / 1_000_000n);
      if (changed + SETTLED_MS > this.now()) return undefined;
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      return undefined;
    }
  }

  /**
   * What MAKE made of FILE the last time, while FILE is the same (or still absent); else MAKE's new
   * result, kept when FILE was the same before and after MAKE ran.
   */
  async get(file: string, make: () => Promise<T>): Promise<T> {
    const identity = this.identity(file);
    if (identity !== undefined && this.kept?.file === file && this.kept.identity === identity) return this.kept.value;
    const value = await make();
    if (identity !== undefined && this.identity(file) === identity) this.kept = { file, identity, value };
    return value;
  }
}
