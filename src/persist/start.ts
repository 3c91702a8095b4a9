// Opening a transport through a persistent-connection master: reuse the live one for the destination,
// or start one (detached) and wait until it is connected, answering its login prompts meanwhile.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ConnectionError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { targetFor, type SshTarget } from '../ssh/config.js';
import { canAnswerPrompts, defaultPrompter, type Prompter } from '../transport/prompt.js';
import { SshTransport } from '../transport/ssh.js';
import { PersistClient, ping } from './client.js';
import type { FromParent, MasterArgs, ToParent } from './master.js';
import { socketDir, socketPath } from './paths.js';
import { toWire, fromWire } from './wire-error.js';

export interface PersistOptions {
  /** Seconds the master stays without any open channel. */
  idleSeconds: number;
  acceptNewHostKey?: boolean;
  prompt?: Prompter;
  onEvent?: EventHandler;
}

/** The destination's target and its master's socket (the socket directory checked). */
export async function masterSocket(destination: string): Promise<{ target: SshTarget; socket: string }> {
  const target = await targetFor(destination);
  return { target, socket: socketPath(socketDir(), target) };
}

/** In a master's worker: that master's socket (src/persist/worker-main.ts). */
let ownMaster: string | undefined;

/**
 * Called by a master's worker with its master's socket: a command there through that master skips the
 * ping, as the master is up and connected (it runs commands only then, and is waiting on this one).
 */
export function servedBy(socket: string): void {
  ownMaster = socket;
}

export async function persistentTransport(destination: string, options: PersistOptions): Promise<SshTransport> {
  const started = Date.now();
  const { target, socket } = await masterSocket(destination);
  let how = 'reused';
  for (let attempt = 1; socket !== ownMaster; attempt++) {
    try {
      // Also waits for a master that is still logging in (started by another command), or gets its error.
      await ping(socket, destination);
      break;
    } catch (e) {
      if (!masterGone(e)) throw e;
      if (attempt > 3) throw new ConnectionError(`cannot reach the persistent connection to ${destination} (${socket}): ${(e as Error).message}`, { cause: e });
      const canPrompt = canAnswerPrompts(options.prompt);
      await startMaster({ destination, socket, idleSeconds: options.idleSeconds, acceptNewHostKey: options.acceptNewHostKey ?? false, canPrompt }, options);
      how = 'started';
    }
  }
  options.onEvent?.({ kind: 'auth', host: target.alias, method: 'persistent connection', detail: `${how}: ${socket}` });
  options.onEvent?.({ kind: 'connected', host: target.alias, ms: Date.now() - started });
  return SshTransport.over(new PersistClient(socket), target);
}

/**
 * Whether a ping's failure means no master serves the socket: none ever did, or it died, or it is dying
 * as it is asked (the socket's errno: ENOENT, ECONNREFUSED, ECONNRESET, EPIPE; EPROTO from client.ts
 * for a stranger's answer). Then a new master is started. The master's own answer (its login failed:
 * a TejError) is kept as it is.
 */
export function masterGone(e: unknown): boolean {
  return !(e instanceof TejError) && typeof (e as NodeJS.ErrnoException | undefined)?.code === 'string';
}

function startMaster(args: MasterArgs, options: PersistOptions): Promise<void> {
  const prompter = options.prompt ?? defaultPrompter;
  return new Promise((resolve, reject) => {
    // The master runs the same CLI (a hidden command), detached from this process and its terminal.
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'tej.js'), '__persist-master', JSON.stringify(args)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    let settled = false;
    // A prompt still open when the master is ready or gone is answered for nobody: its askpass is ended
    // (else this CLI waited for it, up to its timeout, before it could report the master's end).
    const asking = new AbortController();
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      asking.abort();
      if (child.connected) child.disconnect();
      child.unref();
      if (error) reject(error);
      else resolve();
    };
    child.on('message', (m: ToParent) => {
      if (m.type === 'ready') settle();
      else if (m.type === 'error') settle(fromWire(m.error));
      else if (m.type === 'event') options.onEvent?.(m.event);
      else if (m.type === 'prompt') {
        const reply = (r: FromParent) => child.connected && child.send(r);
        prompter(m.request, asking.signal).then(
          (answers) => reply({ type: 'answers', id: m.id, answers }),
          (e: unknown) => reply({ type: 'answers', id: m.id, error: toWire(e) }),
        );
      }
    });
    child.on('error', (e) => settle(new ConnectionError(`cannot start the persistent connection to ${args.destination}: ${e.message}`, { cause: e })));
    child.on('exit', (code, signal) => {
      const e = new ConnectionError(`the persistent connection to ${args.destination} ended before it was ready (${signal ?? `exit ${code}`})`);
      e.retryable = false;
      settle(e);
    });
  });
}
