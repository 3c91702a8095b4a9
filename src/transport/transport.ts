// What the rest of tej needs from a connection: run one `/bin/sh -c` script with optional stdin and
// streamed stdout. SSH and local transports implement it identically, so the same helpers drive both.
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Sftp } from './sftp.js';
import type { ShellSession } from './shell-session.js';
import type { TerminalOptions } from './terminal.js';

export interface RunOptions {
  /** Data for the remote stdin; a factory so that a retried call can send it again. */
  stdin?: () => Readable | AsyncIterable<Uint8Array>;
  /** Stream stdout here instead of collecting it (downloads). */
  stdout?: Writable;
  /** Stream stderr here instead of collecting it (exec: the command's own stderr). */
  stderr?: Writable;
  /** Send each stdin chunk as it comes (a command's input), instead of joining them into large writes. */
  stdinLive?: boolean;
}

export interface RunResult {
  /** Exit status, or null when the remote process died from a signal or the channel broke. */
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: string;
  /** The local stdin source failed (an unreadable file in an upload): the real cause of a torn upload. */
  stdinError?: Error;
}

export interface Transport {
  /** For messages: `alice@hpc`, or `local`. */
  readonly label: string;
  /** Runs `script` with /bin/sh on the other side (never the login shell's own syntax). */
  run(script: string, options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
  /**
   * Runs `script` with /bin/sh on a pseudo-terminal of the host (src/transport/terminal.ts); absent
   * where there is none to open (the local queue), and it refuses a persistent connection's master.
   */
  terminal?(script: string, options: TerminalOptions): Promise<RunResult>;
  /** The long-lived remote shell that runs the calls without stdin or streamed stdout, if there is one. */
  session?(): Promise<ShellSession>;
  /**
   * Another long-lived remote shell, on a channel of its own (one of those uploads and downloads take),
   * for calls to run side by side (src/remote/session-pool.ts); undefined when no channel is free now.
   * Closed with the transport, or by its user.
   */
  extraSession?(): Promise<ShellSession> | undefined;
  /**
   * An SFTP session on the same connection (src/transport/sftp.ts); rejects with SftpUnavailableError
   * where the host has no SFTP subsystem. Absent where there is no SSH (the local queue).
   */
  sftp?(): Promise<Sftp>;
  /** A TCP connection to host:port made from the other side (tej forward); undefined: cannot. */
  tunnel?(host: string, port: number): Promise<Duplex>;
}

/** Collects a child's output; shared by both transports. */
export function collect(stream: Readable | null | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (!stream) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * Groups chunks into batches of at least `size` bytes (the last may be smaller), without copying them:
 * for writev, which writes a batch in one call.
 */
export async function* batches(source: Readable | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<{ parts: Uint8Array[]; length: number }> {
  let parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield { parts, length };
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield { parts, length };
}

/**
 * Joins small chunks into writes of at least `size` bytes (the last may be shorter). Holding data back
 * is harmless here: the receiver of an upload answers only after the end of the stream.
 */
export async function* coalesce(source: Readable | AsyncIterable<Uint8Array>, size = 256 * 1024): AsyncGenerator<Buffer> {
  for await (const { parts, length } of batches(source, size)) {
    // One chunk already big enough goes as it is: concat would copy it for nothing.
    yield parts.length === 1 ? Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, length) : Buffer.concat(parts, length);
  }
}

/** `first`, then what `rest` yields: the script's line before an upload (remote-command.ts). */
export async function* withFirst(first: Buffer, rest: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  yield* rest as AsyncIterable<Uint8Array>;
}
