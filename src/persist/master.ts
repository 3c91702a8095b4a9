// The persistent-connection master: a detached process (`tej __persist-master`, started by start.ts)
// that holds one SSH connection and relays channels to CLI processes over a unix socket. Binding the
// socket is the lock: of two masters started at once, the second finds the first and leaves.
// It exits after its idle time with no channel open, when the SSH connection drops, on SIGTERM and
// on an 'exit' request (tej disconnect), and removes its socket.
import { appendFileSync, statSync, unlinkSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { TejEvent } from '../events.js';
import type { PromptRequest } from '../transport/prompt.js';
import { REMOTE_COMMANDS } from '../transport/remote-command.js';
import { MAX_OPEN_CHANNELS, SshTransport, type ExitWatchedChannel } from '../transport/ssh.js';
import { encodeFrame, ERROR, OPENED, takeLine } from './frame.js';
import { pipeChannel } from './relay.js';
import { fromWire, toWire, type WireError } from './wire-error.js';

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


function log(args: MasterArgs, text: string): void {
  try {
    appendFileSync(args.socket.replace(/\.sock$/, '.log'), `${new Date().toISOString()} [${process.pid}] ${text}\n`, { mode: 0o600 });
  } catch {
    // logging is best effort
  }
}

function send(message: ToParent): void {
  if (process.connected) process.send?.(message);
}

/** Binds the socket; undefined when a live master holds it already. A stale socket is removed. */
async function bind(server: Server, path: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(path, () => {
        server.removeListener('error', resolve);
        resolve(undefined);
      });
    });
    if (!error) return true;
    if (error.code !== 'EADDRINUSE' || attempt >= 3) throw error;
    const ino = statSync(path, { throwIfNoEntry: false })?.ino;
    const alive = await new Promise<boolean>((resolve) => {
      const s = netConnect(path);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (alive) return false;
    // Stale (its master was killed): remove it unless another master has just replaced it.
    if (statSync(path, { throwIfNoEntry: false })?.ino === ino) unlinkSync(path);
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
  let prompts = 0;
  const answers = new Map<number, (m: FromParent) => void>();
  process.on('message', (m: FromParent) => answers.get(m.id)?.(m));
  const connected = SshTransport.connect(args.destination, {
    acceptNewHostKey: args.acceptNewHostKey,
    onEvent: (event) => send({ type: 'event', event }),
    // Prompts go to the CLI that started this master: it owns the terminal and TEJ_ASKPASS.
    prompt: !args.canPrompt ? undefined : (request) =>
      new Promise((resolve, reject) => {
        if (!process.connected) return reject(new Error('no CLI to ask: the master was started without one'));
        const id = ++prompts;
        answers.set(id, (m) => {
          answers.delete(id);
          if (m.error) reject(fromWire(m.error));
          else resolve(m.answers ?? []);
        });
        send({ type: 'prompt', id, request });
      }),
  });
  let up: SshTransport | undefined;
  const sockets = new Set<Socket>();
  let active = 0;
  let idle: NodeJS.Timeout | undefined;
  const waiting: (() => void)[] = [];
  let ending = false;
  const shutdown = (why: string) => {
    if (ending) return;
    ending = true;
    log(args, `exiting: ${why}`);
    server.close();
    try {
      unlinkSync(args.socket);
    } catch {
      // already gone
    }
    for (const s of sockets) s.end(); // after what was written to them (a login's error)
    // A login still in progress is simply abandoned; a close that hangs must not keep the master alive.
    setTimeout(() => process.exit(0), 2000).unref();
    (up ? up.close() : Promise.resolve()).catch(() => undefined).finally(() => process.exit(0));
  };
  const restartIdle = () => {
    clearTimeout(idle);
    if (active === 0) idle = setTimeout(() => shutdown(`idle for ${args.idleSeconds}s`), args.idleSeconds * 1000);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // The CLI that started it was interrupted while it logged in (a prompt nobody will answer now).
  let ready = false;
  process.once('disconnect', () => ready || shutdown('the CLI that started it went away during the login'));
  process.on('SIGHUP', () => undefined); // the terminal of the CLI that started it may go away

  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let head: Buffer = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      let req;
      try {
        req = takeLine(head);
      } catch {
        sock.destroy();
        return;
      }
      if (!req) return;
      sock.removeListener('data', onHead);
      sock.pause();
      let op: { op?: string; command?: string };
      try {
        op = JSON.parse(req.line) as typeof op;
      } catch {
        op = {};
      }
      if (op.op === 'exit') {
        // at once, even during a login that waits for an answer
        sock.end(encodeFrame(OPENED));
        return shutdown('tej disconnect');
      }
      connected.then(
        (transport) => {
          if (op.op === 'ping') sock.end(encodeFrame(OPENED));
          // Only tej's constant commands: nothing else ever reaches the login shell, through a master either.
          else if (op.op === 'exec' && typeof op.command === 'string' && REMOTE_COMMANDS.includes(op.command)) relay(transport, op.command, sock, req.rest);
          else sock.end(encodeFrame(ERROR, JSON.stringify(toWire(new Error(`bad request: ${req.line.slice(0, 100)}`)))));
        },
        (e: unknown) => sock.end(encodeFrame(ERROR, JSON.stringify(toWire(e)))),
      );
    };
    sock.on('data', onHead);
  });

  const relay = async (transport: SshTransport, command: string, sock: Socket, early: Buffer) => {
    active++;
    clearTimeout(idle);
    // Every CLI's channels share this one connection.
    if (active > MAX_OPEN_CHANNELS) await new Promise<void>((resolve) => waiting.push(resolve));
    const done = () => {
      active--;
      waiting.shift()?.();
      restartIdle();
    };
    // The CLI may have gone while this waited for a slot or for the channel: never count it again.
    if (sock.destroyed) return done();
    let watched: ExitWatchedChannel;
    try {
      watched = await transport.execChannel(command);
    } catch (e) {
      sock.end(encodeFrame(ERROR, JSON.stringify(toWire(e))));
      done();
      return;
    }
    if (sock.destroyed) {
      watched.channel.close();
      return done();
    }
    sock.write(encodeFrame(OPENED));
    pipeChannel(watched, sock, early, done);
  };

  let transport: SshTransport;
  try {
    transport = await connected;
  } catch (e) {
    log(args, `connection failed: ${(e as Error).message}`);
    send({ type: 'error', error: toWire(e) });
    // after the connections that waited for the login have been sent its error
    setImmediate(() => shutdown('connection failed'));
    return;
  }
  log(args, 'connected');
  up = transport;
  ready = true;
  send({ type: 'ready', existing: false });
  if (process.connected) process.disconnect();
  restartIdle();
  transport.closed().then(() => shutdown('the SSH connection ended'));
}
