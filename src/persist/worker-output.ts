// A --persist worker's output (docs/protocol.md, "Commands run by the master"): one worker runs command
// after command, so its stdout pipe to the master carries frames (frame.ts), STDOUT and STDERR for what
// the command writes and EXIT for its status, and the master routes them to the client whose command it
// is. Each command gets a process.stdout and process.stderr of its own that frame what is written to
// them; whatever writes to fd 1 or 2 directly (a crash's trace) is outside the frames, and the master
// treats fd 2's bytes as the current command's stderr.
import { Writable } from 'node:stream';
import { encodeFrame, FRAME } from './frame.js';

/** The most of one write put in one frame (the decoder refuses frames over MAX_FRAME). */
const PIECE = 1 << 20;

/** The worker's own stdout (a pipe to the master; synchronous on Linux, as Node makes stdout pipes). */
const pipe = process.stdout;

/** A command's stdout or stderr: what is written becomes frames of TYPE until the command ends. */
class FramedStream extends Writable {
  isTTY?: boolean;
  columns?: number;
  private open = true;

  constructor(
    private readonly type: number,
    /** 1 for stdout: a download to /dev/stdout goes through this stream (fetch.ts), never around the frames. */
    readonly fd: number,
  ) {
    super({ decodeStrings: true });
    this.on('error', () => undefined);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    // a timer the last command left behind writes nothing into the next command's output
    if (this.open) for (let at = 0; at < chunk.length; at += PIECE) pipe.write(encodeFrame(this.type, chunk.subarray(at, at + PIECE)));
    cb();
  }

  close(): void {
    this.open = false;
  }
}

let current: { out: FramedStream; err: FramedStream } | undefined;
/** Between commands, what is written to process.stdout is dropped: only frames may reach the pipe. */
const idle = new FramedStream(FRAME.STDOUT, 1);
idle.close();
const rawStderr = process.stderr;

// process.stdout and process.stderr are configurable getters (Node's bootstrap): pointed at the command's.
Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => current?.out ?? idle });
Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => current?.err ?? rawStderr });

/** Starts a command's output: process.stdout and process.stderr are its frames from now on. */
export function beginOutput(tty: { stdout: boolean; stderr: boolean; columns?: number }): void {
  const out = new FramedStream(FRAME.STDOUT, 1);
  const err = new FramedStream(FRAME.STDERR, 2);
  for (const [s, isTTY] of [
    [out, tty.stdout],
    [err, tty.stderr],
  ] as const) {
    if (!isTTY) continue;
    s.isTTY = true;
    if (tty.columns) s.columns = tty.columns;
  }
  current = { out, err };
}

/** Ends the command's output with its EXIT frame; nothing it writes later reaches anyone. */
export function endOutput(code: number): void {
  current?.out.close();
  current?.err.close();
  current = undefined;
  pipe.write(encodeFrame(FRAME.EXIT, JSON.stringify({ code })));
}
