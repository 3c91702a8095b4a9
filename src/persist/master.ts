// The persistent-connection master: a detached process (`tej __persist-master`, started by start.ts)
// that holds one SSH connection and serves CLI processes over a unix socket: it relays channels (op
// 'exec'), and runs whole commands for lean clients in worker processes (op 'run', workers.ts).
// Binding the socket is the lock: of two masters started at once, the second finds the first and leaves.
// It exits after its idle time with no channel or command open, when the SSH connection drops, on
// SIGTERM and on an 'exit' request (tej disconnect), and removes its socket and its aliases.
import { appendFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import type { TejEvent } from '../events.js';
import { buildStamp, PACKAGE_ROOT } from '../package-root.js';
import type { PromptRequest } from '../transport/prompt.js';
import { REMOTE_COMMANDS, SESSION_COMMAND } from '../transport/remote-command.js';
import { MAX_OPEN_CHANNELS, type SshTransport } from '../transport/ssh.js';
import { VERSION } from '../version.js';
import { encodeFrame, FRAME } from './frame.js';
import { login, send } from './master-login.js';
import { bind, readRequest } from './master-socket.js';
import { aliasPath } from './paths.js';
import { pipeChannel } from './relay.js';
import { WarmShell, type Warm } from './warm-shell.js';
import { toWire, type WireError } from './wire-error.js';
import { WorkerPool, type WorkerRequest } from './workers.js';

export interface MasterArgs {
  destination: string;
  socket: string;
  idleSeconds: number;
  acceptNewHostKey: boolean;
  /** Whether the CLI that starts it can answer prompts (TEJ_ASKPASS, a terminal): else none are relayed. */
  canPrompt: boolean;
}

/** Startup messages to the spawning CLI (Node's IPC channel), and its answers to prompts. */
export type ToParent =
  | { type: 'ready'; existing: boolean }
  | { type: 'error'; error: WireError }
  | { type: 'event'; event: TejEvent }
  | { type: 'prompt'; id: number; request: PromptRequest };
export type FromParent = { type: 'answers'; id: number; answers?: string[]; error?: WireError };

/** A socket connection's first line. */
export type Request =
  | { op: 'exec'; command: string; warm?: boolean }
  | { op: 'ping'; destination?: string }
  | { op: 'exit' }
  | ({ op: 'run'; version: string; root: string } & Omit<WorkerRequest, 'master'>);

function log(args: MasterArgs, text: string): void {
  try {
    appendFileSync(args.socket.replace(/\.sock$/, '.log'), `${new Date().toISOString()} [${process.pid}] ${text}\n`, { mode: 0o600 });
  } catch {
    // logging is best effort
  }
}

/** The build this master runs (a client of a build made since runs its command itself). */
const BUILD = buildStamp();

const refuse = (sock: Socket, e: unknown) => sock.end(encodeFrame(FRAME.ERROR, JSON.stringify(toWire(e))));

class Master {
  private up: SshTransport | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly aliases = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private readonly workers = new WorkerPool(() => this.restartIdle());
  private shell: WarmShell | undefined;
  private channels = 0;
  private idle: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(
    private readonly args: MasterArgs,
    private readonly server: Server,
    private readonly connected: Promise<SshTransport>,
  ) {
    server.on('connection', (sock) => this.accept(sock));
  }

  /** The login succeeded: serve, and end with the connection. */
  ready(transport: SshTransport): void {
    this.up = transport;
    this.alias(this.args.destination);
    this.workers.prepare();
    this.shell = new WarmShell(transport);
    this.prepareShell();
    this.restartIdle();
    transport.closed().then(() => this.shutdown('the SSH connection ended'));
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    readRequest<Request>(sock, (req, rest) => {
      // at once, even during a login that waits for an answer
      if (req.op === 'exit') {
        sock.end(encodeFrame(FRAME.OPENED));
        return this.shutdown('tej disconnect');
      }
      this.connected.then(
        (transport) => this.dispatch(transport, req, sock, rest),
        (e: unknown) => refuse(sock, e),
      );
    });
  }

  private dispatch(transport: SshTransport, req: Partial<Request> & { line: string }, sock: Socket, rest: Buffer): void {
    if (req.op === 'ping') {
      if (typeof req.destination === 'string') this.alias(req.destination);
      sock.end(encodeFrame(FRAME.OPENED));
    } else if (req.op === 'exec' && typeof req.command === 'string' && REMOTE_COMMANDS.includes(req.command)) {
      // Only tej's constant commands: nothing else ever reaches the login shell, through a master either.
      void this.relayChannel(transport, req.command, sock, rest, req.command === SESSION_COMMAND && req.warm === true);
    } else if (req.op === 'run' && Array.isArray(req.argv) && typeof req.cwd === 'string' && req.env && req.tty) {
      // A client of another tej (or another copy, or a build of this one made since) runs its own code: it
      // falls back to its full CLI.
      if (req.version !== VERSION || req.root !== PACKAGE_ROOT || buildStamp() !== BUILD) {
        refuse(sock, new Error('another tej: run the command in the client'));
        return;
      }
      const { argv, env, cwd, tty } = req;
      void this.workers.run({ argv, env, cwd, tty, master: this.args.socket }, sock, rest).then((pid) => {
        if (pid === undefined) refuse(sock, new Error('no worker could start'));
        else log(this.args, `worker ${pid} running '${String(argv[0])}' for a client`);
      });
    } else refuse(sock, new Error(`bad request: ${req.line.slice(0, 100)}`));
  }

  /** Loads the next warm shell, while a channel is free for it beside the relayed ones. */
  private prepareShell(): void {
    if (!this.ending && this.channels < MAX_OPEN_CHANNELS) this.shell?.prepare();
  }

  /**
   * Relays one SSH channel to one socket connection, at most MAX_OPEN_CHANNELS at once (the warm shell
   * counted). A client that accepts a warm shell gets the loaded one, and OPENED says what it holds.
   */
  private async relayChannel(transport: SshTransport, command: string, sock: Socket, early: Buffer, warm: boolean): Promise<void> {
    this.channels++;
    clearTimeout(this.idle);
    if (!warm && this.shell?.held && this.channels + 1 > MAX_OPEN_CHANNELS) this.shell.discard();
    if (this.channels > MAX_OPEN_CHANNELS) await new Promise<void>((resolve) => this.waiting.push(resolve));
    const done = () => {
      this.channels--;
      this.waiting.shift()?.();
      this.prepareShell();
      this.restartIdle();
    };
    // The CLI may have gone while this waited for a slot or for the channel: never count it again.
    if (sock.destroyed) return done();
    let watched;
    let loaded: Warm | undefined;
    try {
      // The next warm shell is this one given back, else loaded once this channel is done (done() above),
      // not beside the command it serves: on two cores, that load's CPU (sshd, the host's sh) slowed the
      // command down. A client
      // that found none (another command holds it: a logs -f) has the next one loaded at once.
      loaded = warm ? await this.shell?.take() : undefined;
      if (warm && !loaded) this.prepareShell();
      watched = loaded?.watched ?? (await transport.execChannel(command));
    } catch (e) {
      refuse(sock, e);
      return done();
    }
    if (sock.destroyed) {
      watched.channel.close();
      return done();
    }
    sock.write(encodeFrame(FRAME.OPENED, loaded ? JSON.stringify({ loaded: loaded.loaded, probe: loaded.probe }) : ''));
    // a warm shell its client gives back (idle, with the master's load) serves the next client too: no
    // new channel, sh and load per command (65-130 ms at load 10, which the next command waited for)
    const giveBack = loaded && (() => this.shell?.giveBack({ ...loaded, watched: watched! }));
    pipeChannel(watched, sock, early, done, giveBack || undefined);
    if (loaded) {
      // left paused by its load
      watched.channel.resume();
      watched.channel.stderr.resume();
    }
  }

  /** Points the alias of `destination` at this master's socket (a link replaced atomically). */
  private alias(destination: string): void {
    const path = aliasPath(dirname(this.args.socket), destination);
    if (this.aliases.has(path)) return;
    const tmp = `${path}.${process.pid}`;
    try {
      symlinkSync(basename(this.args.socket), tmp);
      renameSync(tmp, path);
      this.aliases.add(path);
    } catch (e) {
      log(this.args, `cannot write the alias for ${destination}: ${(e as Error).message}`);
    }
  }

  private restartIdle(): void {
    clearTimeout(this.idle);
    if (this.ending || this.channels > 0 || this.workers.busy > 0) return;
    this.idle = setTimeout(() => this.shutdown(`idle for ${this.args.idleSeconds}s`), this.args.idleSeconds * 1000);
  }

  shutdown(why: string): void {
    if (this.ending) return;
    this.ending = true;
    clearTimeout(this.idle);
    log(this.args, `exiting: ${why}`);
    this.server.close();
    for (const path of [this.args.socket, ...this.aliases]) {
      try {
        // an alias another master has taken over since is left to it
        if (path === this.args.socket || readlinkSync(path) === basename(this.args.socket)) unlinkSync(path);
      } catch {
        // already gone
      }
    }
    this.workers.close();
    this.shell?.close();
    for (const s of this.sockets) s.end(); // after what was written to them (a login's error)
    // A login still in progress is simply abandoned; a close that hangs must not keep the master alive.
    setTimeout(() => process.exit(0), 2000).unref();
    (this.up ? this.up.close() : Promise.resolve()).catch(() => undefined).finally(() => process.exit(0));
  }
}

export async function runMaster(args: MasterArgs): Promise<void> {
  const server = createServer();
  if (!(await bind(server, args.socket))) {
    log(args, 'another master serves this socket');
    send({ type: 'ready', existing: true });
    return;
  }
  log(args, `listening for ${args.destination}`);
  const connected = login(args);
  const master = new Master(args, server, connected);
  process.on('SIGTERM', () => master.shutdown('SIGTERM'));
  // The CLI that started it was interrupted while it logged in (a prompt nobody will answer now).
  let ready = false;
  process.once('disconnect', () => ready || master.shutdown('the CLI that started it went away during the login'));
  process.on('SIGHUP', () => undefined); // the terminal of the CLI that started it may go away

  let transport: SshTransport;
  try {
    transport = await connected;
  } catch (e) {
    log(args, `connection failed: ${(e as Error).message}`);
    send({ type: 'error', error: toWire(e) });
    // after the connections that waited for the login have been sent its error
    setImmediate(() => master.shutdown('connection failed'));
    return;
  }
  log(args, 'connected');
  ready = true;
  send({ type: 'ready', existing: false });
  if (process.connected) process.disconnect();
  master.ready(transport);
}
