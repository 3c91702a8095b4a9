// The exec operation: one command run where a job runs, in its directory and with its environment
// (remote-scripts/commands/exec.sh). Its stdout, stderr and exit status pass through unchanged: the
// helper prints the stream marker on stdout and on stderr once it has found the job, and everything after
// the markers is the command's; a call that ends before them failed in the helper (no such job, ...).
import { Writable, type Readable } from 'node:stream';
import { InvalidInputError, ProtocolError, UsageError, type TejError } from '../errors.js';
import { remoteError } from '../protocol/exit-codes.js';
import { MarkerSkipper, STREAM_MARKER } from '../protocol/stream-marker.js';

export interface ExecOptions {
  /** The command's stdin; without one it reads end of file at once. */
  stdin?: Readable | AsyncIterable<Uint8Array>;
  /** Where the command's stdout goes; without one it is dropped. */
  stdout?: Writable;
  /** Where the command's stderr goes; without one it is dropped. */
  stderr?: Writable;
}

/**
 * The exec helper's arguments for `argv` (the command and its arguments, each passed literally: the
 * helper's arguments are quoted for /bin/sh like every helper's, src/protocol/invocation.ts).
 */
export function execArgs(id: string, argv: readonly string[]): string[] {
  if (argv.length === 0 || argv[0] === '') throw new UsageError('exec needs a command to run', { hint: 'tej exec [DEST] --id ID -- COMMAND [ARGS...]' });
  for (const a of argv) {
    if (typeof a !== 'string') throw new InvalidInputError(`exec: an argument is not a string: ${String(a)}`);
    if (a.includes('\0')) throw new InvalidInputError(`exec: an argument cannot contain a NUL byte: ${JSON.stringify(a)}`);
  }
  return [id, ...argv];
}

const MARKER_LENGTH = Buffer.byteLength(STREAM_MARKER);

/**
 * One side of the command's output: drops (stdout) or keeps (stderr, for the error message) what comes
 * before the marker (found by the MarkerSkipper every stream call uses), then passes every byte on to
 * `target`, as fast as it takes them. Emits 'marker' when the marker has come.
 */
export class AfterMarker extends Writable {
  /** What came before the marker (login banners, the helper's own messages). */
  before = Buffer.alloc(0);
  private readonly skipper: MarkerSkipper;

  constructor(private readonly target: Writable | undefined, host: string) {
    super();
    this.skipper = new MarkerSkipper(host);
  }

  /** Whether the marker has come. */
  get found(): boolean {
    return this.skipper.found;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.skipper.found) return this.pass(chunk, done);
    let rest: Buffer | undefined;
    try {
      rest = this.skipper.feed(chunk);
    } catch (e) {
      return done(e as Error);
    }
    const seen = Buffer.concat([this.before, chunk]);
    if (rest === undefined) {
      this.before = seen;
      return done();
    }
    this.before = seen.subarray(0, seen.length - rest.length - MARKER_LENGTH);
    this.emit('marker');
    if (rest.length === 0) return done();
    this.pass(rest, done);
  }

  private pass(chunk: Buffer, done: (e?: Error | null) => void): void {
    if (!this.target || this.target.destroyed) return done();
    if (this.target.write(chunk)) return done();
    this.target.once('drain', () => done());
  }

  /** Resolves once every byte written so far has gone to the target. */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.writableFinished) return resolve();
      this.once('finish', resolve).once('error', () => resolve());
      this.end();
    });
  }
}

/**
 * The outcome of an exec call: the command's exit status once the helper started it, else the helper's
 * error. `code` is the call's exit status (null: the connection broke).
 */
export function execOutcome(host: string, what: string, code: number, out: AfterMarker, err: AfterMarker): number | TejError {
  if (out.found) return code;
  const stderr = err.before.toString();
  if (code === 0) {
    const seen = out.before.length > 0 ? `it printed ${JSON.stringify(out.before.subarray(0, 200).toString())}` : 'it printed nothing';
    return new ProtocolError(`the reply from ${host} ended before the command began (${seen})`, { hint: 'run the command again with -v; if it fails again, please report it' });
  }
  return remoteError(host, { command: what, code, stderr }, `'${what}' failed`);
}
