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
 * Drops what login files printed before the marker (up to BANNER_MAX_BYTES, else a ProtocolError);
 * passes the stream after it through, pausing `input` while `out` is full (from its first write on).
 */
export function skipToMarker(input: PassThrough, host = 'the host'): PassThrough {
  const out = new PassThrough({ highWaterMark: STREAM_BUFFER });
  const marker = Buffer.from(STREAM_MARKER);
  // Before the marker only its length-1 last bytes are kept (they may hold its start); `skipped` counts the rest.
  let pending: Buffer | undefined = Buffer.alloc(0);
  let skipped = 0;
  let head = Buffer.alloc(0); // the banner's first bytes, for the message when the stream never begins
  const forward = (chunk: Buffer) => {
    if (!out.write(chunk)) {
      input.pause();
      out.once('drain', () => input.resume());
    }
  };
  input.on('data', (chunk: Buffer) => {
    if (pending === undefined) return forward(chunk);
    if (head.length < 200) head = Buffer.concat([head, chunk.subarray(0, 200 - head.length)]);
    const seen: Buffer = Buffer.concat([pending, chunk]);
    const at = seen.indexOf(marker);
    if (at >= 0) {
      pending = undefined;
      const rest = seen.subarray(at + marker.length);
      if (rest.length) forward(rest);
      return;
    }
    const keep = Math.min(seen.length, marker.length - 1);
    skipped += seen.length - keep;
    pending = Buffer.from(seen.subarray(seen.length - keep));
    if (skipped > BANNER_MAX_BYTES) {
      out.destroy(
        new ProtocolError(`${host} printed more than ${BANNER_MAX_BYTES >> 20} MiB before the stream began; that is not a tej reply`, {
          hint: 'a login file (~/.bashrc, ~/.profile) may print endlessly on stdout: make it quiet for non-interactive shells',
        }),
      );
      input.destroy();
    }
  });
  // A stream that ended without its marker is not an empty success: the helper never ran (a login shell
  // that could not parse the command once exited 0 with nothing on stdout).
  input.on('end', () => {
    if (pending === undefined) return out.end();
    const seen = head.length > 0 ? `it printed ${JSON.stringify(head.toString())}` : 'it printed nothing';
    out.destroy(new ProtocolError(`the reply from ${host} ended before its stream began (${seen})`, { hint: 'run the command again with -v; if it fails again, please report it' }));
  });
  input.on('close', () => {
    if (!input.readableEnded) out.destroy();
  });
  return out;
}
