// What a remote shell has sent on one stream and ShellSession has not taken yet: replies end at a mark
// that may arrive split over chunks (src/transport/shell-session.ts).
/**
 * Incoming bytes, with a search for a mark that may arrive split over chunks. The bytes not yet taken
 * are [start, end) of a buffer that grows by doubling: a reply of many chunks is copied about twice in
 * all. (Joining the bytes so far to each chunk copied a 1.5 MB reply some 50 times: a status of 4000
 * jobs spent 14 ms copying and more in the garbage collector.) What take() returns is a view of that
 * buffer, which is never written again below `end`.
 */
export class Inbox {
  private store: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private searched = 0;

  private get buf(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  push(chunk: Buffer): void {
    if (this.start === this.end) {
      // nothing held: the chunk itself is the buffer (no copy). Never the old buffer written from 0
      // again: views take() returned may still be read.
      this.store = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    // a full buffer (the chunk kept by the case above is one) grows: never written over below `end`
    if (this.end + chunk.length > this.store.length) {
      const held = this.end - this.start;
      const next = Buffer.allocUnsafe(Math.max(2 * (held + chunk.length), 64 * 1024));
      this.store.copy(next, 0, this.start, this.end);
      this.store = next;
      this.start = 0;
      this.end = held;
    }
    chunk.copy(this.store, this.end);
    this.end += chunk.length;
  }

  /** Returns what came before `mark` and consumes it and the mark, or undefined if it is not here yet. */
  take(mark: Buffer): Buffer | undefined {
    const buf = this.buf;
    const at = buf.indexOf(mark, Math.max(0, this.searched - mark.length + 1));
    if (at < 0) {
      this.searched = buf.length;
      return undefined;
    }
    const before = buf.subarray(0, at);
    this.start += at + mark.length;
    this.searched = 0;
    return before;
  }

  /** Reads one line (without its newline) from the start, or undefined if it is not complete. */
  line(): string | undefined {
    const buf = this.buf;
    const nl = buf.indexOf(0x0a);
    if (nl < 0) return undefined;
    const text = buf.subarray(0, nl).toString();
    this.start += nl + 1;
    return text;
  }
}
