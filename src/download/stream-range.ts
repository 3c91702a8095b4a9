// The bytes of a resumable download (resume.ts) as one stream: the host's `cat FILE` (`tail -c +N FILE`
// for a continued partial) on a channel of its own, each chunk written to the partial at its offset as it
// comes. SFTP reads (256 KiB each, 16 in flight) cost the client two more copies of every byte and a
// fresh buffer for each: ssh2 joins each reply's eight 32 KiB packets into a new buffer, then copies it
// into the caller's. A 200 MB download took ~0.1-0.2 s more of the client's CPU that way, which on
// two cores is its time. The partial stays what resume.ts needs: the file's bytes from its start, in
// order, as far as they came.
import { writev, write } from 'node:fs';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ConnectionError, RemoteIOError } from '../errors.js';
import { shQuote } from '../transport/quote.js';
import type { Transport } from '../transport/transport.js';

/** Writes `bufs` at `position`, all of them (a regular file writes short only when it is full: then the next write fails). */
function writevAt(fd: number, bufs: Buffer[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (parts: Buffer[], pos: number) => {
      if (parts.length === 0) return resolve();
      const done = (err: Error | null, n: number) => {
        if (err) return reject(err);
        // drop what was written, and the written head of a part
        let left = n;
        const rest: Buffer[] = [];
        for (const p of parts) {
          if (left >= p.length) left -= p.length;
          else {
            rest.push(left > 0 ? p.subarray(left) : p);
            left = 0;
          }
        }
        step(rest, pos + n);
      };
      if (parts.length === 1) write(fd, parts[0]!, 0, parts[0]!.length, pos, done);
      else writev(fd, parts, pos, done);
    };
    step(bufs, position);
  });
}

/** A Writable that writes what it is given into fd from `offset` on, in order, batching what queued up. */
class PositionalWriter extends Writable {
  private position: number;

  /** Set once `limit` bytes are written: what comes after them (a file that grew) is not. */
  full = false;

  constructor(
    private readonly fd: number,
    offset: number,
    private readonly limit: number,
    private readonly onWrite: (n: number) => Promise<void> | void,
  ) {
    super({ highWaterMark: 4 << 20 });
    this.position = offset;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.put(chunks.map((c) => c.chunk), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.put([chunk], callback);
  }

  private put(all: Buffer[], callback: (error?: Error | null) => void): void {
    let room = this.limit - this.position;
    const grew = all.reduce((sum, b) => sum + b.length, 0) > room;
    const bufs: Buffer[] = [];
    for (const b of all) {
      if (room <= 0) break;
      bufs.push(b.length <= room ? b : b.subarray(0, room));
      room -= b.length;
    }
    const n = bufs.reduce((sum, b) => sum + b.length, 0);
    writevAt(this.fd, bufs, this.position).then(
      () => {
        this.position += n;
        // a file still growing could stream for ever: the channel is closed (the caller sees it changed).
        // (onWrite's own failure, a test's hold ended by the dropped link, is no local write error)
        if (grew) this.full = true;
        Promise.resolve(this.onWrite(n)).then(() => callback(this.full ? new Error('the file grew') : undefined), (e: Error) => callback(e));
      },
      (e: Error) => {
        this.writeError ??= e;
        callback(e);
      },
    );
  }

  /** The local write that failed, if one did. */
  writeError?: Error;
}

/**
 * Streams bytes [offset, size) of the host's `file` into fd (of a file that grew meanwhile, those only:
 * the caller's check of its size and mtime sees the change). `onWrite` runs after each write (the
 * progress, a test's interruption); `writeFailed` turns a local write error into the one to throw.
 * Anything else that goes wrong (the channel breaks, the file cannot be read or ends early) throws.
 */
export async function streamRange(transport: Transport, file: string, fd: number, offset: number, size: number, onWrite: (n: number) => Promise<void> | void, writeFailed: (e: unknown) => unknown): Promise<void> {
  let localError: unknown;
  let got = offset;
  const writer = new PositionalWriter(fd, offset, size, (n) => {
    got += n;
    return onWrite(n);
  });
  writer.on('error', () => (localError ??= writer.writeError === undefined ? undefined : writeFailed(writer.writeError)));
  const f = shQuote(file);
  const script = offset === 0 ? `exec cat -- ${f}` : `exec tail -c +${offset + 1} -- ${f}`;
  let r;
  try {
    r = await transport.run(script, { stdout: writer });
  } catch (e) {
    if (localError !== undefined) throw localError;
    if (writer.full) return;
    throw e;
  }
  if (localError !== undefined) throw localError;
  if (writer.full) return;
  // no exit status and no signal: the channel closed under the command (a dropped link)
  if (r.code === null && r.signal === undefined) throw new ConnectionError(`the connection broke after ${got} of ${size} bytes`);
  if (r.code !== 0) throw new RemoteIOError(`cannot read it on the host: ${r.stderr.trim().split('\n')[0] || `exit ${r.code ?? r.signal}`}`);
  // the channel's end leaves the writer open (the transport pipes with end: false): its last writes finish here
  writer.end();
  await finished(writer).catch(() => undefined);
  if (localError !== undefined) throw localError;
  if (got !== size) throw new RemoteIOError(`the file ended at ${got} bytes, not ${size}`);
}
