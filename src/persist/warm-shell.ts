// A --persist master's warm shell: one persistent remote `/bin/sh` channel that the master opens and
// loads with the helper program (src/remote/session.ts sessionLoadScript, from the master's own bundle)
// before any command asks for it, and hands to the next client that asks for a session shell and
// accepts one (op exec with "warm": true). The client is told the sha256 of what was loaded (OPENED's
// payload) and runs its calls from memory only when that is the hash of its own load script: a command
// through a master then skips the invocation (reading and checking program.sh and MANIFEST, the eval of
// the whole program), as the calls after the first of a library session do. The master also probes the
// default queue in it (as the client's first call would), and passes the answer on. A client that is done
// with the shell and left it as it came gives it back (FRAME.RELEASE, relay.ts): probed again, it serves
// the next client. Any other is closed with its socket, like any relayed channel, and a new one loaded.
import { PassThrough } from 'node:stream';
import { loadBundle } from '../remote/bundle.js';
import { DEFAULT_QUEUE } from '../remote/call.js';
import { probeScript, sessionLoadHash, sessionLoadScript } from '../remote/session.js';
import { shQuotePath } from '../transport/quote.js';
import { SESSION_COMMAND } from '../transport/remote-command.js';
import { ShellSession } from '../transport/shell-session.js';
import type { ExitWatchedChannel, SshTransport } from '../transport/ssh.js';

/** The load script of this client's bundle and its sha256, which a warm shell is labelled with. */
export async function sessionLoad(): Promise<{ script: string; sha256: string }> {
  const bundle = await loadBundle();
  return { script: sessionLoadScript(bundle), sha256: sessionLoadHash(bundle) };
}

export interface Warm {
  watched: ExitWatchedChannel;
  /** sha256 of the load script the shell holds. */
  loaded: string;
  /** The session probe of the default queue, run in it after the load (a round trip less for the client). */
  probe?: { queue: string; stdout: string };
}

/** A ShellSession on a channel, through streams that detach() cuts off from it (the channel left paused, for a relay). */
function attach(watched: ExitWatchedChannel, label: string, preloaded?: { loaded: string }) {
  const { channel } = watched;
  const out = new PassThrough();
  const err = new PassThrough();
  const input = new PassThrough();
  const onOut = (c: Buffer) => out.write(c);
  const onErr = (c: Buffer) => err.write(c);
  const onIn = (c: Buffer) => channel.write(c);
  channel.on('data', onOut);
  channel.stderr.on('data', onErr);
  input.on('data', onIn);
  channel.resume();
  channel.stderr.resume();
  const closed = new Promise<undefined>((resolve) => channel.once('close', () => resolve(undefined)));
  const session = new ShellSession(input, out, err, label, preloaded);
  const detach = () => {
    channel.removeListener('data', onOut);
    channel.stderr.removeListener('data', onErr);
    input.removeListener('data', onIn);
    channel.pause();
    channel.stderr.pause();
  };
  return { session, closed, detach };
}

/** Opens a session channel and runs the load and the probe in it. */
async function openLoaded(transport: SshTransport): Promise<Warm | undefined> {
  const { script, sha256 } = await sessionLoad();
  const watched = await transport.execChannel(SESSION_COMMAND);
  const { session, closed, detach } = attach(watched, transport.label);
  const r = await Promise.race([session.load(script), closed]);
  const probe = r?.code === 0 ? await Promise.race([session.run(probeScript(shQuotePath(DEFAULT_QUEUE))), closed]) : undefined;
  detach();
  if (r?.code !== 0 || watched.exit) {
    watched.channel.close();
    return undefined;
  }
  return { watched, loaded: sha256, probe: probe?.code === 0 ? { queue: DEFAULT_QUEUE, stdout: probe.stdout.toString() } : undefined };
}

/**
 * A shell a client gave back (FRAME.RELEASE: idle, its load its own, src/transport/shell-session.ts
 * close): probed again (the queue may have been set up since), with marks of a new token. Anything
 * else in its reply (bytes a process of the last client's left behind) and it is closed, not reused.
 */
async function reprobe(watched: ExitWatchedChannel, loaded: string, label: string): Promise<Warm | undefined> {
  const { session, closed, detach } = attach(watched, label, { loaded });
  const probe = await Promise.race([session.run(probeScript(shQuotePath(DEFAULT_QUEUE))), closed]);
  detach();
  const stdout = probe?.stdout.toString();
  if (probe?.code !== 0 || probe.stderr !== '' || !(stdout === '' || stdout?.startsWith('proto=')) || watched.exit) {
    watched.channel.close();
    return undefined;
  }
  return { watched, loaded, probe: { queue: DEFAULT_QUEUE, stdout: stdout! } };
}

/** At most one loaded shell, kept for the next client; the master counts it as an open channel. */
export class WarmShell {
  private next: Promise<Warm | undefined> | undefined;
  private closed = false;

  constructor(private readonly transport: SshTransport) {}

  /** Whether a shell is open or opening (it holds a channel). */
  get held(): boolean {
    return this.next !== undefined;
  }

  /** Starts loading the next shell, unless one is there. */
  prepare(): void {
    if (this.next || this.closed) return;
    this.hold(openLoaded(this.transport));
  }

  /** Takes back a shell a client released: the next one handed out, unless one is held already. */
  giveBack(warm: Warm): void {
    if (this.next || this.closed) {
      warm.watched.channel.close();
      return;
    }
    this.hold(reprobe(warm.watched, warm.loaded, this.transport.label));
  }

  private hold(opening: Promise<Warm | undefined>): void {
    const next = opening.catch(() => undefined);
    this.next = next;
    void next.then((w) => {
      if (!w) {
        if (this.next === next) this.next = undefined;
        return;
      }
      // A shell that ends while it waits (the host killed it) is not handed out.
      w.watched.channel.once('close', () => {
        if (this.next === next) this.next = undefined;
      });
      if (this.closed) w.watched.channel.close();
    });
  }

  /** The loaded shell, waiting for its load if it is under way; undefined when there is none. */
  async take(): Promise<Warm | undefined> {
    const next = this.next;
    this.next = undefined;
    const w = await next;
    if (!w || w.watched.exit || this.closed) return undefined;
    return w;
  }

  /** Closes the shell it holds (the master needs the channel, or exits). */
  discard(): void {
    const next = this.next;
    this.next = undefined;
    void next?.then((w) => w?.watched.channel.close());
  }

  close(): void {
    this.closed = true;
    this.discard();
  }
}
