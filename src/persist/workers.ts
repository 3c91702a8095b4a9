// The master's side of commands run for lean clients (op 'run', docs/protocol.md "Persistent
// connections"): one worker CLI process is kept started and loaded ahead of time; a command takes it
// (and a new one is started for the next), its stdout and stderr are relayed to the client in frames,
// the client's signals are passed on, and its exit code ends the exchange. A client that goes away
// takes its command along (SIGTERM), as a terminal's Ctrl-C would.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { constants } from 'node:os';
import { PACKAGE_ROOT } from '../package-root.js';
import { encodeFrame, FRAME, FrameDecoder } from './frame.js';

/** What a lean client sends (its JSON request line, op 'run'), and a worker gets. */
export interface WorkerRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  tty: { stdout: boolean; stderr: boolean; columns?: number };
  /** The socket of the master that sends it (set by the master, never by the client). */
  master: string;
}

const FORWARDED_SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

interface Warm {
  child: ChildProcess;
  ready: Promise<boolean>;
}

export class WorkerPool {
  private warm: Warm | undefined;
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly onChange: () => void) {}

  /** Commands running now (the master does not go idle under them). */
  get busy(): number {
    return this.running.size;
  }

  /** Starts the worker that the next command takes. */
  prepare(): void {
    if (this.warm) return;
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'tej.js'), '__persist-worker'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const ready = new Promise<boolean>((resolve) => {
      child.once('message', () => resolve(true));
      child.once('exit', () => resolve(false));
      child.once('error', () => resolve(false));
    });
    const warm: Warm = { child, ready };
    child.once('exit', () => {
      if (this.warm === warm) this.warm = undefined;
    });
    this.warm = warm;
  }

  /** Runs one command for the client on `sock`; resolves false when no worker could start. */
  async run(request: WorkerRequest, sock: Socket, early: Buffer): Promise<boolean> {
    this.prepare();
    const { child, ready } = this.warm!;
    this.warm = undefined;
    this.running.add(child);
    this.onChange();
    const finished = () => {
      this.running.delete(child);
      this.onChange();
    };
    if (!(await ready) || !child.connected) {
      finished();
      return false;
    }
    this.prepare(); // the next command's, while this one runs
    child.send(request);
    if (sock.destroyed) child.kill('SIGTERM');
    sock.write(encodeFrame(FRAME.OPENED));
    const forward = (type: number) => (data: Buffer) => {
      if (!sock.write(encodeFrame(type, data))) {
        child.stdout!.pause();
        child.stderr!.pause();
      }
    };
    child.stdout!.on('data', forward(FRAME.STDOUT));
    child.stderr!.on('data', forward(FRAME.STDERR));
    sock.on('drain', () => {
      child.stdout!.resume();
      child.stderr!.resume();
    });
    const decoder = new FrameDecoder();
    const onFrames = (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        const name = f.payload.toString();
        if (f.type === FRAME.SIGNAL && FORWARDED_SIGNALS.has(name)) child.kill(name as NodeJS.Signals);
      }
    };
    sock.on('data', onFrames);
    if (early.length > 0) onFrames(early);
    sock.resume();
    // The client went away before its command ended (killed, or its output closed): end the command.
    sock.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    child.on('close', (code, signal) => {
      finished();
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      sock.end(encodeFrame(FRAME.EXIT, JSON.stringify({ code: status })));
    });
    return true;
  }

  /** Ends the waiting worker and the commands still running (the master is exiting). */
  close(): void {
    this.warm?.child.kill('SIGTERM');
    this.warm = undefined;
    for (const c of this.running) c.kill('SIGTERM');
  }
}
