// The SSH transport: the channels of one ssh2 connection per session (the login itself is src/ssh/login.ts),
// and ProxyJump chains, each hop a channel of the one before. Remote commands always run under /bin/sh: requests without
// a data stream go through one persistent remote shell; uploads and downloads get a channel each. The
// login shell only ever sees the constant commands of remote-command.ts; scripts travel on stdin.
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, ClientChannel } from 'ssh2';
import { ConnectionError, RemoteUnavailableError, TejError, UsageError } from '../errors.js';
import { jumpHops, targetFor, type SshTarget } from '../ssh/config.js';
import { login, type SshOptions } from '../ssh/login.js';
import { shLine } from './quote.js';
import { EXEC_COMMAND, SESSION_COMMAND } from './remote-command.js';
import { ShellSession, type Preloaded } from './shell-session.js';
import { openSftp, SftpUnavailableError, type Sftp } from './sftp.js';
import { runOnTerminal, type TerminalOptions } from './terminal.js';
import type { RunOptions, RunResult, Transport } from './transport.js';
import { coalesce, collect, withFirst } from './transport.js';

export type { SshOptions };

/** sshd's default MaxSessions: the channels one connection may have open at once. */
export const SSHD_MAX_SESSIONS = 10;
/**
 * The channels tej keeps open on one connection: one below sshd's limit, a margin both users of it
 * (this transport, and a --persist master relaying every CLI's channels) have always kept.
 */
export const MAX_OPEN_CHANNELS = SSHD_MAX_SESSIONS - 1;
// One channel is the persistent shell; uploads and downloads wait their turn for the others.
const MAX_DATA_CHANNELS = MAX_OPEN_CHANNELS - 1;

/** Whether the connection is ssh2's own Client (a master's client has no events and no forwarding). */
function isSsh2Client(client: ExecClient): client is Client {
  return typeof (client as Partial<Client>).forwardOut === 'function';
}

export interface ExitWatchedChannel {
  channel: ClientChannel;
  /** Set when the exit status (or signal) has come. */
  exit?: { code: number | null; signal?: string };
}

/**
 * What SshTransport needs of a connection: ssh2's Client, or a client of a persistent-connection master
 * (src/persist/client.ts) whose channels look like ssh2's.
 */
export interface ExecClient {
  exec(command: string, callback: (err: Error | undefined, channel: ClientChannel) => void): unknown;
  end(): unknown;
}

export class SshTransport implements Transport {
  readonly label: string;
  private shell?: Promise<ShellSession>;
  private sftpSession?: Promise<Sftp>;
  private readonly extraShells = new Set<ShellSession>();
  private channels = 0;
  private readonly waitingForChannel: (() => void)[] = [];

  private constructor(
    private readonly client: ExecClient,
    private readonly jump: SshTransport | undefined,
    readonly target: SshTarget,
  ) {
    this.label = `${target.user}@${target.alias}`;
    // A persistent listener: an error after connect (link drop) must not crash the process; the
    // channel that was in use reports it.
    if (isSsh2Client(client)) client.on('error', () => undefined);
  }

  /** A transport over a client that is already connected (a persistent-connection master's). */
  static over(client: ExecClient, target: SshTarget): SshTransport {
    return new SshTransport(client, undefined, target);
  }

  /** Resolves when the SSH connection has ended (a master exits then). */
  closed(): Promise<void> {
    const client = this.client;
    return new Promise((resolve) => (isSsh2Client(client) ? client.once('close', () => resolve()) : undefined));
  }

  /**
   * A raw channel running `command` as is, for a persistent-connection master to relay, with its exit
   * status as soon as it comes: it can arrive in the same read as the channel's opening, before the
   * caller's `await` resumes.
   */
  execChannel(command: string): Promise<ExitWatchedChannel> {
    return this.openChannel(command, (channel) => {
      const watched: ExitWatchedChannel = { channel };
      channel.on('exit', (code: number | null, signal?: string) => (watched.exit = { code, signal: signal ?? undefined }));
      return watched;
    });
  }

  static async connect(destination: string, options: SshOptions = {}): Promise<SshTransport> {
    const target = await targetFor(destination);
    let jump: SshTransport | undefined;
    try {
      let sock: Readable | undefined;
      if (target.proxyJump) {
        // A chain a,b,c: connect to a, from there to b, ...; the last hop forwards to the target.
        const hops = jumpHops(target.proxyJump);
        for (const hop of hops) {
          const next: SshTransport = jump ? await jump.hop(hop, options) : await SshTransport.connect(hop, { ...options });
          jump = next;
        }
        options.signal?.throwIfAborted();
        sock = await jump!.forward(target.host, target.port);
      }
      options.onEvent?.({ kind: 'connect', host: target.alias, via: target.proxyJump });
      const started = Date.now();
      const client = await login(target, options, sock);
      options.onEvent?.({ kind: 'connected', host: target.alias, ms: Date.now() - started });
      return new SshTransport(client, jump, target);
    } catch (e) {
      // The hops made so far would keep the process alive: a failed login closes them.
      await jump?.close().catch(() => undefined);
      throw e;
    }
  }

  private async hop(destination: string, options: SshOptions): Promise<SshTransport> {
    const target = await targetFor(destination);
    const sock = await this.forward(target.host, target.port);
    const client = await login(target, options, sock);
    return new SshTransport(client, this, target);
  }

  private async forward(host: string, port: number): Promise<Readable> {
    try {
      return await this.tunnel(host, port);
    } catch (e) {
      throw new ConnectionError(`jump host ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Transport.tunnel: a direct-tcpip channel from this host's sshd to host:port (a jump's next hop, a
   * forwarded port). A --persist master's client relays commands, not TCP channels: RemoteUnavailableError.
   */
  tunnel(host: string, port: number): Promise<Duplex> {
    const client = this.client;
    if (!isSsh2Client(client)) {
      return Promise.reject(new RemoteUnavailableError(`the --persist connection to ${this.label} cannot carry forwarded ports`, { hint: 'connect without --persist for this (TEJ_PERSIST=off)' }));
    }
    return new Promise((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) reject(new ConnectionError(`${this.label} cannot reach ${host}:${port}: ${err.message}`, { cause: err }));
        else resolve(stream);
      });
    });
  }

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    if (!options.stdin && !options.stdout) return (await this.session()).run(script);
    await this.acquireChannel();
    try {
      return await this.exec(script, options);
    } finally {
      this.releaseChannel();
    }
  }

  /** Transport.terminal: a channel with a pty, which only a connection of this process can ask for. */
  async terminal(script: string, options: TerminalOptions): Promise<RunResult> {
    if (!isSsh2Client(this.client)) {
      throw new UsageError(`a terminal cannot go through the persistent connection to ${this.label}: its master relays none`, { hint: 'run it with --persist=off' });
    }
    await this.acquireChannel();
    try {
      return await runOnTerminal(this.client, this.label, script, options);
    } finally {
      this.releaseChannel();
    }
  }

  /** Transport.sftp: SFTP on this connection (a data channel while it lasts), opened on first use. */
  sftp(): Promise<Sftp> {
    const client = this.client;
    if (!isSsh2Client(client)) return Promise.reject(new SftpUnavailableError(`the --persist connection to ${this.label} carries no SFTP`, { hint: 'connect without --persist for this (TEJ_PERSIST=off)' }));
    const release = () => ((this.sftpSession = undefined), this.releaseChannel());
    const opening = (this.sftpSession ??= this.acquireChannel().then(() => openSftp(client, this.label, release)));
    opening.catch(() => (this.sftpSession === opening ? (this.sftpSession = undefined) : undefined));
    return opening;
  }

  /** The persistent shell, started on first use. */
  session(): Promise<ShellSession> {
    this.shell ??= this.openChannel(SESSION_COMMAND, (channel) => {
      // a --persist master's warm shell (src/persist/warm-shell.ts) says what it holds, for Queue to compare
      const session = new ShellSession(channel, channel, channel.stderr, this.label, (channel as { preloaded?: Preloaded }).preloaded);
      channel.on('close', () => session.fail(new ConnectionError(`the connection to ${this.label} broke`)));
      return session;
    });
    return this.shell;
  }

  /** Transport.extraSession: a shell on one of the data channels, when one is free now. */
  extraSession(): Promise<ShellSession> | undefined {
    if (this.channels >= MAX_DATA_CHANNELS) return undefined;
    this.channels++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.releaseChannel();
    };
    const opened = this.openChannel(SESSION_COMMAND, (channel) => {
      const session = new ShellSession(channel, channel, channel.stderr, this.label, (channel as { preloaded?: Preloaded }).preloaded);
      this.extraShells.add(session);
      channel.on('close', () => {
        session.fail(new ConnectionError(`the connection to ${this.label} broke`));
        this.extraShells.delete(session);
        release();
      });
      return session;
    });
    opened.catch(release);
    return opened;
  }

  private async acquireChannel(): Promise<void> {
    if (this.channels < MAX_DATA_CHANNELS) {
      this.channels++;
      return;
    }
    await new Promise<void>((resolve) => this.waitingForChannel.push(resolve));
  }

  private releaseChannel(): void {
    const next = this.waitingForChannel.shift();
    if (next) next();
    else this.channels--;
  }

  /**
   * Opens a channel running `command`. `attach` runs inside ssh2's callback: a command that ends at once
   * can have its exit status parsed in the same tick, and an 'exit' listener added later would miss it.
   */
  private openChannel<T>(command: string, attach: (channel: ClientChannel) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        // A master's own error (its login failed) keeps its class; anything else is a broken connection.
        if (err) reject(err instanceof TejError ? err : new ConnectionError(`cannot run a command on ${this.label}: ${err.message}`, { cause: err }));
        else resolve(attach(channel));
      });
    });
  }

  /** Runs one script on its own channel: the way for uploads and downloads. */
  private async exec(script: string, options: RunOptions): Promise<RunResult> {
    // The login shell may be tcsh or fish: it gets a constant command, and /bin/sh the script on stdin.
    const line = Buffer.from(`${shLine(script)}\n`);
    const finished = await this.openChannel(EXEC_COMMAND, (channel) => {
      let code: number | null = null;
      let signal: string | undefined;
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? undefined;
      });
      const stdout = options.stdout
        ? pipeline(channel, options.stdout, { end: false }).then(() => Buffer.alloc(0))
        : collect(channel);
      // A reader that failed (a download's local error destroys options.stdout) leaves the channel closed
      // (pipeline destroys it) but unread: drop what is still in flight, so that 'end', then 'close', come.
      stdout.catch(() => channel.resume());
      let stdinError: Error | undefined;
      const stderr = options.stderr ? pipeline(channel.stderr, options.stderr, { end: false }).then(() => Buffer.alloc(0)) : collect(channel.stderr);
      stderr.catch(() => channel.stderr.resume());
      if (options.stdin) {
        // Large writes: an SSH packet per small tar block would cost a cipher call each.
        const input = options.stdinLive ? options.stdin() : coalesce(options.stdin());
        pipeline(withFirst(line, input), channel).catch((e: Error) => (stdinError = e));
      } else {
        channel.end(line);
      }
      return new Promise<RunResult>((resolve, reject) => {
        channel.on('close', () => {
          Promise.all([stdout, stderr]).then(
            ([out, errText]) => resolve({ code, signal, stdout: out, stderr: errText.toString(), stdinError }),
            (e: Error) => reject(new ConnectionError(`connection to ${this.label} broke: ${e.message}`, { cause: e })),
          );
        });
      });
    });
    return finished;
  }

  async close(): Promise<void> {
    if (this.shell) (await this.shell.catch(() => undefined))?.close();
    for (const extra of this.extraShells) extra.close();
    if (this.sftpSession) (await this.sftpSession.catch(() => undefined))?.end();
    this.client.end();
    await this.jump?.close();
  }
}
