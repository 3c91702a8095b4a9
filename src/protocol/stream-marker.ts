// The stream marker: a streaming helper (download, logs) prints it before its bytes, so that what login
// files print on stdout before it can be told apart and dropped.
import { PassThrough } from 'node:stream';
import { ProtocolError } from '../errors.js';

/** Printed before a download's tar stream: login files may print banners on stdout before it. */
export const STREAM_MARKER = 'tej-stream-begins\n';

// What a stream call's pass-through streams hold before they push back: the default (16 KiB) is less than
// one SSH packet (32 KiB), so every packet paused and resumed the channel; 1 MiB (half the channel's
// window) cost a 200 MB download a fifth less CPU in the client's pipeline.
export const STREAM_BUFFER = 1 << 20;

/** How much a login banner may print before the stream marker: past it, the reply is not tej's. */
export const BANNER_MAX_BYTES = 1 << 20;

/**
 * Finds the marker in a stream's first chunks: feed() returns what follows it (undefined while it has
 * not come), and throws a ProtocolError past BANNER_MAX_BYTES of banner.
 */
export class MarkerSkipper {
  /** Whether the marker has come. */
  found = false;
  private readonly marker = Buffer.from(STREAM_MARKER);
  // Before the marker only its length-1 last bytes are kept (they may hold its start); `skipped` counts the rest.
  private pending = Buffer.alloc(0);
  private skipped = 0;
  private head = Buffer.alloc(0); // the banner's first bytes, for the message when the stream never begins

  constructor(private readonly host = 'the host') {}

  feed(chunk: Buffer): Buffer | undefined {
    if (this.found) return chunk;
    if (this.head.length < 200) this.head = Buffer.concat([this.head, chunk.subarray(0, 200 - this.head.length)]);
    const seen: Buffer = Buffer.concat([this.pending, chunk]);
    const at = seen.indexOf(this.marker);
    if (at >= 0) {
      this.found = true;
      this.pending = Buffer.alloc(0);
      return seen.subarray(at + this.marker.length);
    }
    const keep = Math.min(seen.length, this.marker.length - 1);
    this.skipped += seen.length - keep;
    this.pending = Buffer.from(seen.subarray(seen.length - keep));
    if (this.skipped > BANNER_MAX_BYTES) {
      throw new ProtocolError(`${this.host} printed more than ${BANNER_MAX_BYTES >> 20} MiB before the stream began; that is not a tej reply`, {
        hint: 'a login file (~/.bashrc, ~/.profile) may print endlessly on stdout: make it quiet for non-interactive shells',
      });
    }
    return undefined;
  }

  /**
   * The error for a stream that ended without its marker: not an empty success, the helper never ran (a
   * login shell that could not parse the command once exited 0 with nothing on stdout).
   */
  endError(): ProtocolError | undefined {
    if (this.found) return undefined;
    const seen = this.head.length > 0 ? `it printed ${JSON.stringify(this.head.toString())}` : 'it printed nothing';
    return new ProtocolError(`the reply from ${this.host} ended before its stream began (${seen})`, { hint: 'run the command again with -v; if it fails again, please report it' });
  }
}

/**
 * Drops what login files printed before the marker (up to BANNER_MAX_BYTES, else a ProtocolError);
 * passes the stream after it through, pausing `input` while `out` is full (from its first write on).
 */
export function skipToMarker(input: PassThrough, host = 'the host'): PassThrough {
  const out = new PassThrough({ highWaterMark: STREAM_BUFFER });
  const skipper = new MarkerSkipper(host);
  const forward = (chunk: Buffer) => {
    if (!out.write(chunk)) {
      input.pause();
      out.once('drain', () => input.resume());
    }
  };
  input.on('data', (chunk: Buffer) => {
    if (skipper.found) return forward(chunk);
    let rest: Buffer | undefined;
    try {
      rest = skipper.feed(chunk);
    } catch (e) {
      out.destroy(e as Error);
      input.destroy();
      return;
    }
    if (rest?.length) forward(rest);
  });
  input.on('end', () => {
    const e = skipper.endError();
    if (e) out.destroy(e);
    else out.end();
  });
  input.on('close', () => {
    if (!input.readableEnded) out.destroy();
  });
  return out;
}
