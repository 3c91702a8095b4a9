// The SSH transport: one ssh2 connection per session, host keys checked against known_hosts, auth by
// agent and identity files, ProxyJump chains. Remote commands always run under /bin/sh: requests without
// a data stream go through one persistent remote shell; uploads and downloads get a channel each. The
// login shell only ever sees the constant commands of remote-command.ts; scripts travel on stdin.
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AnyAuthMethod, AuthenticationType, Client, ClientChannel, ConnectConfig } from 'ssh2';
import { AuthenticationError, ConnectionError, HostKeyError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import { jumpHops, targetFor, type SshTarget } from '../ssh/config.js';
import {
  addKnownHost,
  fingerprint,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  loadKnownHosts,
  verifyHostKey,
} from '../ssh/known-hosts.js';
import { markBusy } from './busy.js';
import { canAnswerPrompts, type Prompter } from './prompt.js';
import { shLine } from './quote.js';
import { EXEC_COMMAND, SESSION_COMMAND } from './remote-command.js';
import { ShellSession } from './shell-session.js';
import type { RunOptions, RunResult, Transport } from './transport.js';
import { coalesce, collect, withFirst } from './transport.js';

/**
 * ssh2 itself, loaded on the first login: a command that reuses a persistent connection's master
 * (src/persist) never logs in, and skips loading it (~50 ms of each such command's start-up).
 */
let ssh2Module: typeof import('ssh2') | undefined;
async function loadSsh2(): Promise<typeof import('ssh2')> {
  ssh2Module ??= (await import('ssh2')).default;
  return ssh2Module;
}

/** Whether the connection is ssh2's own Client (a master's client has no events and no forwarding). */
function isSsh2Client(client: ExecClient): client is Client {
  return typeof (client as Partial<Client>).forwardOut === 'function';
}

export interface SshOptions {
  /** Add an unknown host's key to known_hosts instead of refusing (like StrictHostKeyChecking=accept-new). */
  acceptNewHostKey?: boolean;
  /** Answers keyboard-interactive prompts (one-time codes); default: TEJ_ASKPASS, else the terminal. */
  prompt?: Prompter;
  onEvent?: EventHandler;
  /** Abandons the login: the connection (and any jump hosts') is closed, and the reason thrown. */
  signal?: AbortSignal;
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

// Network failures worth retrying; everything else (auth, host key) is final.
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN']);

function connectionError(target: SshTarget, err: Error & { level?: string; code?: string }): TejError {
  if (err instanceof TejError) return err;
  const where = `${target.user}@${target.alias}`;
  if (err.level === 'client-authentication') {
    return new AuthenticationError(`tej: authentication to ${where} failed (tried: agent and identity files)`, {
      cause: err,
      hint: `check that your key is in ~${target.user}/.ssh/authorized_keys on ${target.host}, or set IdentityFile in ~/.ssh/config`,
    });
  }
  const detail = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
  // A name that does not resolve will not resolve in a second either (a DNS timeout is EAI_AGAIN).
  const unresolved = err.code === 'ENOTFOUND';
  const e = new ConnectionError(`tej: cannot connect to ${where} (${target.host}:${target.port}): ${detail}`, {
    cause: err,
    hint: unresolved ? 'check the host name, or add a Host entry for it to ~/.ssh/config' : undefined,
  });
  if (unresolved) e.retryable = false;
  // Closed before the SSH handshake (sshd's MaxStartups drops connections beyond 10 unauthenticated ones).
  if (err.level === 'protocol' && /before handshake/i.test(err.message)) markBusy(e);
  if (err.code && !TRANSIENT.has(err.code) && err.level !== 'client-timeout' && err.level !== 'client-socket') e.retryable = false;
  return e;
}

interface Dialed {
  socket: Socket;
  /** An error the socket had before ssh2 took it over. */
  failed?: Error;
}

/**
 * Opens the TCP connection to the target; ssh2 takes the socket over, connected or still connecting.
 * The only TCP socket tej opens (jump hosts' next hops are channels in it; a --persist master dials here
 * too). TCP_NODELAY: ssh2 writes a request in several small pieces (without its native crypto binding,
 * one per packet part), and with Nagle each would wait for the host's delayed ACK (~40 ms a request).
 */
function dial(target: SshTarget): Dialed {
  const socket = new Socket();
  socket.setNoDelay(true);
  const dialed: Dialed = { socket };
  socket.once('error', (e) => (dialed.failed ??= e));
  socket.connect({ host: target.host, port: target.port });
  return dialed;
}

async function authMethods(target: SshTarget, onEvent?: EventHandler): Promise<AnyAuthMethod[]> {
  const methods: AnyAuthMethod[] = [];
  const agent = target.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (agent && agent.toLowerCase() !== 'none' && !target.identitiesOnly) {
    methods.push({ type: 'agent', username: target.user, agent });
  }
  for (const file of target.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // default key files that do not exist are simply not offered, as OpenSSH does
    }
    const parsed = (await loadSsh2()).utils.parseKey(data);
    if (parsed instanceof Error) {
      onEvent?.({ kind: 'auth', host: target.alias, method: 'publickey', detail: `skipping ${file}: ${parsed.message}` });
      continue;
    }
    methods.push({ type: 'publickey', username: target.user, key: data });
  }
  return methods;
}

// sshd allows 10 channels per connection (MaxSessions); one is the shell, the rest wait their turn.
const MAX_CHANNELS = 8;

export class SshTransport implements Transport {
  readonly label: string;
  private shell?: Promise<ShellSession>;
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
      const client = await SshTransport.open(target, options, sock);
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
    const client = await SshTransport.open(target, options, sock);
    return new SshTransport(client, this, target);
  }

  private forward(host: string, port: number): Promise<Readable> {
    return new Promise((resolve, reject) => {
      (this.client as Client).forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) reject(new ConnectionError(`tej: jump host ${this.label} cannot reach ${host}:${port}: ${err.message}`, { cause: err }));
        else resolve(stream);
      });
    });
  }

  private static async open(target: SshTarget, options: SshOptions, sock?: Readable): Promise<Client> {
    options.signal?.throwIfAborted();
    // The TCP connection opens first: the host accepts it and starts its sshd while known_hosts, the
    // keys and ssh2 itself load here (tens of ms each side).
    const dialed = sock ? undefined : dial(target);
    try {
      return await SshTransport.login(target, options, sock, dialed);
    } catch (e) {
      dialed?.socket.destroy();
      throw e;
    }
  }

  private static async login(target: SshTarget, options: SshOptions, sock?: Readable, dialed?: Dialed): Promise<Client> {
    const known = await loadKnownHosts(target.knownHostsFiles);
    // As OpenSSH: a HostKeyAlias is looked up as is; a host name with its port when that is not 22.
    const name = target.hostKeyAliased ? target.hostKeyName : knownHostsName(target.hostKeyName, target.port);
    const types = knownKeyTypes(known, name);
    const methods = await authMethods(target, options.onEvent);
    // Without a key, a host may still let in with keyboard-interactive alone, if someone can answer.
    if (methods.length === 0 && !canAnswerPrompts(options.prompt)) {
      throw new AuthenticationError(`tej: no way to authenticate to ${target.user}@${target.alias}: no ssh-agent and no readable key`, {
        hint: 'start ssh-agent and ssh-add your key, or set IdentityFile for this host in ~/.ssh/config',
      });
    }
    let hostKeyProblem: TejError | undefined;
    // (key, verify): ssh2 waits for verify() when this returns undefined, as it does while a new key is recorded
    const verifier = (blob: Buffer, verify: (valid: boolean) => void): boolean | undefined => {
      const keyType = keyTypeOfBlob(blob);
      const keyBase64 = blob.toString('base64');
      const verdict = verifyHostKey(known, name, keyType, keyBase64);
      const fp = fingerprint(keyBase64);
      if (verdict.kind === 'known') return true;
      if (verdict.kind === 'unknown' && options.acceptNewHostKey) {
        const file = target.knownHostsFiles[0]!;
        const warn = (message: string) => options.onEvent?.({ kind: 'warning', host: target.alias, message });
        addKnownHost(file, name, keyType, keyBase64)
          .then(
            () => warn(`added ${keyType} key ${fp} for ${name} to ${file}`),
            (e: Error) => warn(`accepted the new ${keyType} key ${fp} of ${name} for this connection, but could not record it in ${file} (${e.message}): the next connection will not know it either`),
          )
          .finally(() => verify(true));
        return undefined;
      }
      if (verdict.kind === 'unknown') {
        hostKeyProblem = new HostKeyError(`tej: host key of ${name} is unknown (${keyType} ${fp}); refusing to connect`, {
          hint: `check the fingerprint with the host's owner, then run 'ssh ${target.alias}' once to record it, or pass --accept-new-host-key`,
        });
      } else if (verdict.kind === 'changed') {
        const where = verdict.entries.map((e) => `${e.file}:${e.line}`).join(', ');
        hostKeyProblem = new HostKeyError(
          `tej: HOST KEY OF ${name} HAS CHANGED (now ${keyType} ${fp}); refusing to connect: this may be an attack`,
          { hint: `if the host was reinstalled, remove the old key (${where}) with: ssh-keygen -R '${name}'` },
        );
      } else {
        hostKeyProblem = new HostKeyError(`tej: host key of ${name} (${fp}) is marked @revoked in ${verdict.entry.file}; refusing to connect`);
      }
      return false;
    };
    // Last, for hosts that want a one-time code too (AuthenticationMethods publickey,keyboard-interactive).
    let authProblem: TejError | undefined;
    const prompter = options.prompt ?? (await import('./prompt.js')).defaultPrompter;
    methods.push({
      type: 'keyboard-interactive',
      username: target.user,
      prompt: (name: string, instructions: string, _lang: string, prompts: { prompt: string; echo?: boolean }[], finish: (answers: string[]) => void) => {
        const request = { host: `${target.user}@${target.alias}`, name, instructions, prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })) };
        prompter(request).then(finish, (e: Error) => {
          authProblem = e instanceof TejError ? e : new AuthenticationError(`tej: cannot answer ${request.host}'s prompt: ${e.message}`, { cause: e });
          client.end(); // no answer to give: an empty one would count as a failed login on the host
        });
      },
    } as AnyAuthMethod);
    let remaining = [...methods];
    const authHandler = (left: AuthenticationType[] | null, _partial: boolean | null, next: (m: AnyAuthMethod | false) => void) => {
      while (remaining.length > 0) {
        const m = remaining.shift()!;
        const wanted = m.type === 'agent' ? 'publickey' : m.type;
        if (left === null || left.includes(wanted as AuthenticationType)) {
          options.onEvent?.({ kind: 'auth', host: target.alias, method: m.type });
          return next(m);
        }
      }
      next(false);
    };
    const client = new (await loadSsh2()).Client();
    options.signal?.throwIfAborted(); // (open() closes the socket)
    // Failed before ssh2 was listening (refused, unresolved): reported as ssh2 would have.
    if (dialed?.failed) throw connectionError(target, Object.assign(dialed.failed, { level: 'client-socket' }));
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      sock: sock ?? dialed?.socket,
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: target.serverAliveIntervalMs ?? 15_000,
      keepaliveCountMax: target.serverAliveCountMax ?? 4,
      hostVerifier: verifier,
      authHandler: authHandler as unknown as ConnectConfig['authHandler'],
    };
    if (types.length > 0) {
      // Ask for a key type that known_hosts can vouch for, as OpenSSH does.
      const preferred = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
      const order = preferred.filter((a) => types.includes(a === 'rsa-sha2-512' || a === 'rsa-sha2-256' ? 'ssh-rsa' : a));
      const rest = preferred.filter((a) => !order.includes(a));
      config.algorithms = { serverHostKey: [...order, ...rest] as never };
    }
    const { signal } = options;
    return new Promise((resolve, reject) => {
      const settle = () => {
        client.removeListener('ready', onReady);
        client.removeListener('close', onClose);
        client.removeListener('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      // After a failed login, the socket's last errors have nobody else to go to.
      const fail = (e: unknown) => {
        settle();
        client.on('error', () => undefined);
        client.end();
        reject(e);
      };
      const onError = (err: Error & { level?: string }) => fail(hostKeyProblem ?? authProblem ?? connectionError(target, err));
      // Ended without an error (we hung up on a prompt, or the host did during the handshake).
      const onClose = () => onError(Object.assign(new Error('the connection closed during the login'), { code: 'ECONNRESET' }));
      const onAbort = () => fail(signal!.reason);
      const onReady = () => {
        settle();
        resolve(client);
      };
      client.once('close', onClose);
      client.once('error', onError);
      client.once('ready', onReady);
      signal?.addEventListener('abort', onAbort, { once: true });
      client.connect(config);
      options.onEvent?.({ kind: 'handshake', host: target.alias });
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

  /** The persistent shell, started on first use. */
  session(): Promise<ShellSession> {
    this.shell ??= this.openChannel(SESSION_COMMAND, (channel) => {
      const session = new ShellSession(channel, channel, channel.stderr, this.label);
      channel.on('close', () => session.fail(new ConnectionError(`tej: the connection to ${this.label} broke`)));
      return session;
    });
    return this.shell;
  }

  private async acquireChannel(): Promise<void> {
    if (this.channels < MAX_CHANNELS) {
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
        if (err) reject(err instanceof TejError ? err : new ConnectionError(`tej: cannot run a command on ${this.label}: ${err.message}`, { cause: err }));
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
      const stderr = collect(channel.stderr);
      if (options.stdin) {
        // Large writes: an SSH packet per small tar block would cost a cipher call each.
        pipeline(withFirst(line, coalesce(options.stdin())), channel).catch((e: Error) => (stdinError = e));
      } else {
        channel.end(line);
      }
      return new Promise<RunResult>((resolve, reject) => {
        channel.on('close', () => {
          Promise.all([stdout, stderr]).then(
            ([out, errText]) => resolve({ code, signal, stdout: out, stderr: errText.toString(), stdinError }),
            (e: Error) => reject(new ConnectionError(`tej: connection to ${this.label} broke: ${e.message}`, { cause: e })),
          );
        });
      });
    });
    return finished;
  }

  async close(): Promise<void> {
    if (this.shell) (await this.shell.catch(() => undefined))?.close();
    this.client.end();
    await this.jump?.close();
  }
}
