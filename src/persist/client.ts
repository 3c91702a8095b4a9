// The CLI's side of a persistent connection: an ssh2-Client look-alike whose exec() opens one unix
// socket connection to the master per channel, so SshTransport and ShellSession run over it unchanged.
import { connect, type Socket } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { SESSION_COMMAND } from '../transport/remote-command.js';
import type { ExecClient } from '../transport/ssh.js';
import { encodeFrame, FRAME, FrameDecoder } from './frame.js';
import { fromWire, type WireError } from './wire-error.js';

/**
 * One channel: the readable side is the remote stdout, `.stderr` its stderr; writes go to its stdin and
 * end() closes it. Emits 'exit' (code, signal) and then 'close', as ssh2's ClientChannel does.
 */
class SocketChannel extends Duplex {
  readonly stderr: Readable;
  /** For a warm shell (warm-shell.ts): the sha256 of the load script the master ran in it, and its probe. */
  preloaded?: { loaded: string; probe?: { queue: string; stdout: string } };
  private exited = false;
  private released = false;

  constructor(private readonly sock: Socket) {
    super({ emitClose: false, autoDestroy: false, allowHalfOpen: true });
    // Socket data is paused while a reader is behind; each side's read() lets it flow again.
    this.stderr = new Readable({ read: () => sock.resume() });
    this.on('error', () => undefined); // reported through the readers: a stream error is not a crash
    this.stderr.on('error', () => undefined);
  }

  override _read(): void {
    this.sock.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.sock.write(encodeFrame(FRAME.STDIN, chunk))) cb();
    else this.sock.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.released) this.sock.write(encodeFrame(FRAME.STDIN_EOF));
    cb();
  }

  /** Gives a warm shell back to the master (ShellSession.close: idle, as it came), instead of ending its stdin. */
  release(): void {
    if (this.released || !this.preloaded) return void this.end();
    this.released = true;
    this.sock.write(encodeFrame(FRAME.RELEASE));
    this.end();
  }

  // Destroyed by its reader (a download that failed locally): close the socket, so that the master
  // closes the SSH channel and the remote command stops instead of waiting for a reader.
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.exited) this.sock.destroy();
    cb(err);
  }

  deliver(type: number, payload: Buffer): void {
    if (type === FRAME.STDOUT) {
      if (!this.push(payload)) this.sock.pause();
    } else if (type === FRAME.STDERR) {
      if (!this.stderr.push(payload)) this.sock.pause();
    } else if (type === FRAME.EXIT) {
      const { code, signal } = JSON.parse(payload.toString()) as { code: number | null; signal?: string };
      this.exited = true;
      this.emit('exit', code, signal);
    }
  }

  /** The master closed the connection: after an exit, the end of the streams; else the link broke. */
  finish(error?: Error): void {
    if (!this.exited && !error) error = new Error('the persistent connection master closed the channel before the command ended');
    if (error) {
      this.destroy(error);
      this.stderr.destroy(error);
    } else {
      this.push(null);
      this.stderr.push(null);
    }
    this.emit('close');
  }
}

export class PersistClient implements ExecClient {
  private readonly open = new Set<Socket>();

  constructor(private readonly path: string) {}

  exec(command: string, callback: (err: Error | undefined, channel: ClientChannel) => void): void {
    const sock = connect(this.path);
    this.open.add(sock);
    const decoder = new FrameDecoder();
    let channel: SocketChannel | undefined;
    let failed: Error | undefined;
    // A session shell may be one the master has loaded already (warm-shell.ts): OPENED says with what.
    const warm = command === SESSION_COMMAND ? { warm: true } : {};
    sock.on('connect', () => sock.write(`${JSON.stringify({ op: 'exec', command, ...warm })}\n`));
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        sock.destroy(e as Error);
        return;
      }
      for (const f of frames) {
        if (channel) channel.deliver(f.type, f.payload);
        else if (f.type === FRAME.OPENED) {
          channel = new SocketChannel(sock);
          if (f.payload.length > 0) {
            const { loaded, probe } = JSON.parse(f.payload.toString()) as { loaded?: unknown; probe?: { queue?: unknown; stdout?: unknown } };
            const probed = typeof probe?.queue === 'string' && typeof probe.stdout === 'string' ? { queue: probe.queue, stdout: probe.stdout } : undefined;
            if (typeof loaded === 'string') channel.preloaded = { loaded, probe: probed };
          }
          callback(undefined, channel as unknown as ClientChannel);
        } else if (f.type === FRAME.ERROR) {
          failed = fromWire(JSON.parse(f.payload.toString()) as WireError);
          sock.destroy();
        }
      }
    });
    sock.on('error', (e) => (failed ??= e));
    sock.on('close', () => {
      this.open.delete(sock);
      if (channel) channel.finish(failed);
      else callback(failed ?? new Error('the persistent connection master closed the socket'), undefined as never);
    });
  }

  end(): void {
    // The master keeps the SSH connection; only this process's channels end.
    for (const s of this.open) s.end();
  }
}

/**
 * Asks the master whether it is there and its connection is up. Resolves when it is; rejects with the
 * socket error (ENOENT, ECONNREFUSED: no master) or the master's own error.
 */
export function ping(path: string, destination?: string): Promise<void> {
  // The destination as typed: the master answers lean clients that name it so (paths.ts aliasPath).
  return request(path, { op: 'ping', destination });
}

/** Tells the master to end (tej disconnect). Resolves false when there was none. */
export async function stopMaster(path: string): Promise<boolean> {
  try {
    await request(path, { op: 'exit' });
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return false;
    throw e;
  }
}

function request(path: string, req: { op: 'ping'; destination?: string } | { op: 'exit' }): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const decoder = new FrameDecoder();
    let answered = false;
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        // not a master's framing: whatever listens there is no master
        sock.destroy();
        return reject(Object.assign(new Error('what answers on the socket is not a tej master'), { code: 'EPROTO' }));
      }
      for (const f of frames) {
        answered = true;
        if (f.type === FRAME.OPENED) resolve();
        else reject(fromWire(JSON.parse(f.payload.toString()) as WireError));
        sock.end();
      }
    });
    sock.on('error', (e) => {
      if (!answered) reject(e);
    });
    sock.on('close', () => {
      if (!answered) reject(Object.assign(new Error('the persistent connection master closed the socket'), { code: 'ECONNRESET' }));
    });
  });
}
