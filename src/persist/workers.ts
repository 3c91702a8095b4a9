// The master's side of commands run for lean clients (op 'run', docs/protocol.md "Persistent
// connections"): worker CLI processes, started and loaded ahead of time, each running one command at a
// time. A worker's stdout carries frames (worker-output.ts): its commands' STDOUT and STDERR, relayed
// to the client, and EXIT, which ends the client's exchange. A worker that says it is ready again after
// that takes the next command (no process start per command: that start, ~190 ms of CPU, competed with
// the command itself on two cores); one that exits is replaced. The client's signals are passed on, and
// a client that goes away takes its command along (SIGTERM), as a terminal's Ctrl-C would.
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

/** One worker process; `client` is the socket of the command it runs, until that command's EXIT. */
interface Worker {
  child: ChildProcess;
  client?: Socket;
  /** Removes what run() added to the client's socket. */
  release?: () => void;
  /** Whether it said 'ready' since its last command was given (it waits for the next). */
  ready: boolean;
  /** Whether it said 'ready' once (it has started). */
  started: boolean;
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker | undefined) => void)[] = [];
  private readonly all = new Set<Worker>();
  private starting = 0;
  private closed = false;

  constructor(private readonly onChange: () => void) {}

  /** Commands running now (the master does not go idle under them). */
  get busy(): number {
    return [...this.all].filter((w) => w.client).length;
  }

  /**
   * Workers that ended a command and have not said yet whether they take another (a few turns of their
   * event loop): a command waits for one rather than have a worker started beside it.
   */
  private get settling(): number {
    return [...this.all].filter((w) => w.started && !w.client && !w.ready).length;
  }

  /** Starts a worker unless there is one (idle, settling or starting) for each command that waits, and a spare. */
  prepare(spare = true): void {
    if (this.closed || this.idle.length + this.settling + this.starting >= this.waiting.length + (spare ? 1 : 0)) return;
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'tej.js'), '__persist-worker'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const w: Worker = { child, ready: false, started: false };
    this.all.add(w);
    this.starting++;
    child.on('message', () => {
      if (!w.started) {
        w.started = true;
        this.starting--;
      }
      w.ready = true;
      if (!w.client) this.offer(w);
    });
    child.once('error', () => undefined); // 'close' follows
    this.route(w);
    child.once('close', (code, signal) => {
      this.all.delete(w);
      if (!w.started) this.starting--;
      const at = this.idle.indexOf(w);
      if (at >= 0) this.idle.splice(at, 1);
      // A worker that ends during its command (a signal, a crash, process.exit) ends it with its status.
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (w.client) this.finish(w, status);
      // one that could not even start fails whoever waits for it, rather than being started again
      if (!w.started) this.waiting.shift()?.(undefined);
      else this.prepare(); // the next command's, once this one is over
      this.onChange();
    });
  }

  private offer(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  private take(): Promise<Worker | undefined> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    const got = new Promise<Worker | undefined>((resolve) => this.waiting.push(resolve));
    this.prepare(false);
    return got;
  }

  /** Relays the worker's frames to the client of its command; the EXIT frame ends that command. */
  private route(w: Worker): void {
    const { child } = w;
    const decoder = new FrameDecoder();
    child.stdout!.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        child.kill('SIGTERM'); // not a worker's framing: it is of no use any more
        return;
      }
      for (const f of frames) {
        if (f.type === FRAME.EXIT) this.finish(w, (JSON.parse(f.payload.toString()) as { code: number }).code);
        else if (w.client) this.forward(w, f.type, f.payload);
      }
    });
    // fd 2 written around the frames (a crash's trace): the current command's stderr
    child.stderr!.on('data', (chunk: Buffer) => w.client && this.forward(w, FRAME.STDERR, chunk));
  }

  private forward(w: Worker, type: number, payload: Buffer): void {
    if (!w.client!.write(encodeFrame(type, payload))) {
      w.child.stdout!.pause();
      w.child.stderr!.pause();
    }
  }

  /** The command of W ended with CODE: its client gets EXIT, and W goes back to the pool if ready. */
  private finish(w: Worker, code: number): void {
    const sock = w.client;
    if (!sock) return;
    w.client = undefined;
    w.release?.();
    w.release = undefined;
    sock.end(encodeFrame(FRAME.EXIT, JSON.stringify({ code })));
    w.child.stdout!.resume();
    w.child.stderr!.resume();
    if (w.ready && w.child.exitCode === null && w.child.signalCode === null) this.offer(w);
    this.onChange();
  }

  /** Runs one command for the client on `sock`; resolves to the worker's pid, undefined when none could start. */
  async run(request: WorkerRequest, sock: Socket, early: Buffer): Promise<number | undefined> {
    const w = await this.take();
    if (!w || !w.child.connected) return undefined;
    w.client = sock;
    w.ready = false;
    this.onChange();
    w.child.send(request);
    const { child } = w;
    sock.write(encodeFrame(FRAME.OPENED));
    const drained = () => {
      child.stdout!.resume();
      child.stderr!.resume();
    };
    sock.on('drain', drained);
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
        if (f.type === FRAME.SIGNAL && FORWARDED_SIGNALS.has(name) && w.client === sock) child.kill(name as NodeJS.Signals);
      }
    };
    sock.on('data', onFrames);
    if (early.length > 0) onFrames(early);
    sock.resume();
    // The client went away before its command ended (killed, or its output closed): end the command.
    const gone = () => {
      if (w.client === sock) child.kill('SIGTERM');
    };
    sock.on('close', gone);
    w.release = () => {
      sock.removeListener('drain', drained);
      sock.removeListener('data', onFrames);
      sock.removeListener('close', gone);
    };
    if (sock.destroyed) gone();
    return child.pid;
  }

  /** Ends every worker, idle or running a command (the master is exiting). */
  close(): void {
    this.closed = true;
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
    for (const w of this.all) w.child.kill('SIGTERM');
  }
}
