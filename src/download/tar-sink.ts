// A tar stream read as it is written, without a stream per entry: the writable end of a download.
// tar-stream's extract ran a readable stream per entry and one more stream layer per chunk, which cost a
// 200 MB download more CPU than the SSH transport itself; here each chunk's content goes to the entry's
// receiver as slices of the chunk (no copy), and only a header split between two chunks is copied. The
// header blocks are decoded by tar-stream's own decoder, and framed as its extract frames them (pax and
// GNU long names, zero blocks skipped, a stream that ends inside an entry an error).
import { Writable } from 'node:stream';
import type { MarkerSkipper } from '../protocol/stream-marker.js';
import { TAR_BLOCK, tarHeaders, type DecodedHeader } from '../tar.js';

/** Receives one entry's content; write and end may return a promise, which the stream waits for. */
export interface EntryContent {
  write(data: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

/** Called for each entry's header; undefined skips its content. */
export type OnEntry = (header: DecodedHeader) => EntryContent | undefined | Promise<EntryContent | undefined>;

const MAX_LONG_HEADER = 4 << 20; // as tar-stream: a pax or GNU long-name record beyond this is refused
const LONG_TYPES = new Set(['gnu-long-path', 'gnu-long-link-path', 'pax-global-header', 'pax-header']);

/** The padding after `size` bytes of content, to the next block. */
function padding(size: number): number {
  const rest = size % TAR_BLOCK;
  return rest && TAR_BLOCK - rest;
}

export class TarSink extends Writable {
  private readonly block = Buffer.alloc(TAR_BLOCK); // a header split between chunks
  private have = 0; // bytes of it so far
  private missing = 0; // content bytes of the current entry (or long record) still to come
  private skip = 0; // padding bytes still to come
  private content: EntryContent | undefined;
  private long: { type: string; parts: Buffer[] } | undefined;
  private pax: Record<string, string> | undefined;
  private paxGlobal: Record<string, string> | undefined;
  private longPath: string | undefined;
  private longLink: string | undefined;

  constructor(
    private readonly onEntry: OnEntry,
    /** Drops a login banner before the stream marker (a download straight from the channel). */
    private readonly marker?: MarkerSkipper,
  ) {
    // 4 MiB: while a batch is on its way to disk the channel keeps flowing. At 1 MiB, the sink filled
    // during a write, the channel paused and stopped granting window, and the host's sends stalled (a
    // 200 MB download took 0.3 s more CPU, mostly in the kernel, and a third more time).
    super({ highWaterMark: 4 << 20 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.marker && !this.marker.found) {
      let rest: Buffer | undefined;
      try {
        rest = this.marker.feed(chunk);
      } catch (e) {
        return callback(e as Error);
      }
      if (!rest?.length) return callback();
      chunk = rest;
    }
    this.consume(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const unbegun = this.marker?.endError();
    if (unbegun) return callback(unbegun);
    callback(this.missing > 0 || this.skip > 0 || this.have > 0 ? new Error('Unexpected end of data') : null);
  }

  private async consume(chunk: Buffer): Promise<void> {
    let p = 0;
    // destroyed (the download failed) while waiting for an entry's receiver: nothing more is handed on
    while (p < chunk.length && !this.destroyed) {
      if (this.missing > 0) {
        const n = Math.min(this.missing, chunk.length - p);
        const part = chunk.subarray(p, p + n);
        p += n;
        this.missing -= n;
        if (this.long) {
          this.long.parts.push(part);
          if (this.missing === 0) this.endLong();
        } else if (this.content) {
          const wrote = this.content.write(part);
          if (wrote) await wrote;
          if (this.missing === 0) await this.endContent();
        }
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - p);
        p += n;
        this.skip -= n;
        continue;
      }
      let block: Buffer;
      if (this.have === 0 && chunk.length - p >= TAR_BLOCK) {
        block = chunk.subarray(p, p + TAR_BLOCK);
        p += TAR_BLOCK;
      } else {
        const n = Math.min(TAR_BLOCK - this.have, chunk.length - p);
        chunk.copy(this.block, this.have, p, p + n);
        p += n;
        this.have += n;
        if (this.have < TAR_BLOCK) continue;
        this.have = 0;
        block = this.block;
      }
      await this.header(block);
    }
  }

  private async header(block: Buffer): Promise<void> {
    const header = tarHeaders().decode(block, 'utf-8', false);
    if (!header) return; // a zero block: the end of the archive, or its padding
    if (header.type && LONG_TYPES.has(header.type)) {
      if (header.size > MAX_LONG_HEADER) throw new Error('Header exceeds max size');
      this.long = { type: header.type, parts: [] };
      this.missing = header.size;
      this.skip = padding(header.size);
      if (this.missing === 0) this.endLong();
      return;
    }
    if (this.longPath !== undefined) header.name = this.longPath;
    if (this.longLink !== undefined) header.linkname = this.longLink;
    this.longPath = this.longLink = undefined;
    if (this.pax) {
      if (this.pax.path) header.name = this.pax.path;
      if (this.pax.linkpath) header.linkname = this.pax.linkpath;
      if (this.pax.size) header.size = parseInt(this.pax.size, 10);
      this.pax = undefined;
    }
    if (!(header.size >= 0)) throw new Error('Invalid header');
    const size = header.type === 'directory' ? 0 : header.size; // as tar-stream: a directory has no content
    const got = this.onEntry(header);
    this.content = got instanceof Promise ? await got : got;
    this.missing = size;
    this.skip = padding(size);
    if (size === 0) await this.endContent();
  }

  private async endContent(): Promise<void> {
    const content = this.content;
    this.content = undefined;
    const ended = content?.end();
    if (ended) await ended;
  }

  private endLong(): void {
    const { type, parts } = this.long!;
    this.long = undefined;
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const t = tarHeaders();
    if (type === 'gnu-long-path') this.longPath = t.decodeLongPath(buf, 'utf-8');
    else if (type === 'gnu-long-link-path') this.longLink = t.decodeLongPath(buf, 'utf-8');
    else if (type === 'pax-global-header') this.paxGlobal = t.decodePax(buf);
    else this.pax = { ...this.paxGlobal, ...t.decodePax(buf) };
  }
}
