// A tej queue on one host: the typed library API. Every operation is one helper call over the session's
// single connection; a host without a queue is set up on first use, and out-of-date helpers upgraded.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import pRetry from 'p-retry';
import { EXIT, JobFileNotFoundError, JobNotFoundError, ProtocolError, RemoteUnavailableError, TejError, ConnectionError, InvalidInputError } from './errors.js';
import type { EventHandler } from './events.js';
import { checkJobId } from './job/id.js';
import { packJob } from './job/pack.js';
import { checkPluginName, KEEP_INPUT_MAX_BYTES, prepareSubmission, type PreparedSubmission, type SubmitOptions } from './job/prepare.js';
import { replay } from './job/prepack.js';
import { toJobStatus, type JobState, type JobStatus } from './job/status.js';
import { toJobRecord, type JobRecord } from './job/record.js';
import { fromFsError } from './fs-errors.js';
import { remoteError } from './protocol/exit-codes.js';
import { invocationScript, withInlineStdin, type Arg } from './protocol/invocation.js';
import { parseReply, type Reply } from './protocol/reply.js';
import { loadUserPlugins, PLUGIN_NAME, pluginCheck, saveUserPlugin, sha256, type UserPlugins } from './remote/user-plugins.js';
import { skipToMarker, STREAM_BUFFER } from './protocol/stream-marker.js';
import { loadBundle } from './remote/bundle.js';
import { installHelpers, notAQueueError } from './remote/install.js';
import { probedRoot, probeScript, SESSION_COMMANDS, sessionCallScript, sessionLoadHash, sessionLoadScript } from './remote/session.js';
import { bundlePlugins } from './remote/program.js';
import type { ShellSession } from './transport/shell-session.js';
import { shQuotePath } from './transport/quote.js';
import { destinationFor, extractDownload, type ExtractResult } from './download/extract.js';
import { parseDownloadSpec } from './download/spec.js';
import type { RunOptions, RunResult, Transport } from './transport/transport.js';
import { PROTO, VERSION } from './version.js';

export const DEFAULT_QUEUE = '~/.tej';
export { PLUGIN_NAME };

export interface SetupOptions {
  /** Default plugin for jobs of this queue. @default 'direct' */
  plugin?: string;
  /** Make this path a symlink to the queue, so later commands find it by default. */
  link?: string;
  /**
   * A plugin of the user's own to install into the queue, as `plugin` when that is given (it becomes the
   * default then), else under the file's name without `.sh`. Its hash is kept on this machine.
   */
  pluginFile?: string;
  /** Install even into a non-empty directory that is not a tej queue. */
  force?: boolean;
}

export interface SetupResult {
  queue: string;
  plugin: string;
  version: string;
  /** A plugin the host looks made for (slurm when it has sbatch), when it is not the one set up. */
  suggestedPlugin?: string;
}

export interface SubmitResult {
  id: string;
  plugin: string;
  nativeId: string;
  state: JobState;
}

export interface KillResult {
  id: string;
  previousState: JobState;
  state: JobState;
}

/**
 * `inline`: the call's whole stdin, small, sent inside the request on the session's shell instead of over
 * a channel of its own (opening one costs the host a fork of sshd and a login shell); `onSend` is told
 * just before it goes. A transport without a session sends it as stdin.
 */
type CallOptions = RunOptions & { autoSetup?: boolean; streamMarker?: boolean; inline?: Buffer; onSend?: () => void };

/** A submit whose tar stream is at most this long travels inside the request (CallOptions.inline). */
export const INLINE_MAX_BYTES = 64 * 1024;
/** How often an idempotent call is sent again over a new connection after the old one broke. */
export const CALL_RETRIES = 3;

/** Sessions that hold this client's helpers (src/remote/session.ts): one load per session. */
const loaded = new WeakMap<ShellSession, Promise<boolean>>();

export class Queue {
  private broken = false;
  private ownPlugins?: Promise<UserPlugins>;
  /** Per session: the queue's physical path when calls may run from memory there, else undefined. */
  private probed = new WeakMap<ShellSession, Promise<string | undefined>>();
  private readonly firstCalls = new WeakSet<ShellSession>();

  constructor(
    public transport: Transport,
    /** The queue directory on the host. @default '~/.tej' */
    readonly path: string = DEFAULT_QUEUE,
    private readonly onEvent?: EventHandler,
    /** Opens a new transport to the same host, for calls retried after the connection broke. */
    private readonly reopen?: () => Promise<Transport>,
  ) {}

  /**
   * Runs `fn`; when the connection breaks (a transient network error, never auth or host key), opens a
   * new one and runs `fn` again. Only for calls that are safe to repeat: status, list, setup, and submit,
   * whose nonce makes a repeat find its own job (docs/protocol.md, submit).
   */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.reopen) return fn();
    return pRetry(
      async () => {
        if (this.broken) {
          await this.transport.close().catch(() => undefined);
          this.transport = await this.reopen!();
          this.broken = false;
        }
        try {
          return await fn();
        } catch (e) {
          if (e instanceof ConnectionError) this.broken = true;
          throw e;
        }
      },
      {
        retries: CALL_RETRIES,
        minTimeout: 1000,
        factor: 2,
        shouldRetry: (e) => e instanceof TejError && e.retryable,
        onFailedAttempt: (e) => {
          if (e instanceof TejError && e.retryable && e.retriesLeft > 0) {
            this.onEvent?.({ kind: 'retry', host: this.host, attempt: e.attemptNumber, error: `${what}: ${e.message.replace(/^tej: /, '')}` });
          }
        },
      },
    );
  }

  get host(): string {
    return this.transport.label;
  }

  private async invocation(command: string, args: Arg[], marker = false): Promise<string> {
    return invocationScript(await loadBundle(), this.path, command, args, marker, pluginCheck(await loadBundle(), await this.userPlugins()));
  }

  /** The plugins this machine installed into this queue with setup --plugin-file (src/remote/user-plugins.ts). */
  private userPlugins(): Promise<UserPlugins> {
    this.ownPlugins ??= loadUserPlugins(this.host, this.path);
    return this.ownPlugins;
  }

  private async run(script: string, options: CallOptions, what: string): Promise<RunResult> {
    this.onEvent?.({ kind: 'exec', host: this.host, command: what });
    // Only on an idle shell: it runs one request at a time, and submits sent at once go faster side by
    // side on channels of their own (measured: 20 at once, 36.5 s all through the shell, 16.2 s on channels).
    const session = options.inline && this.transport.session ? await this.transport.session() : undefined;
    let r: RunResult;
    if (session && !session.busy) {
      r = await session.run(withInlineStdin(script, options.inline!), options.onSend);
    } else {
      r = await this.transport.run(script, options);
    }
    // A local read error tore the upload: that, not the remote's "incomplete upload", is the cause.
    const code = (r.stdinError as NodeJS.ErrnoException | undefined)?.code;
    // EPIPE: the helper stopped reading (refused the id, queue absent); its exit status says why.
    if (r.stdinError && r.code !== 0 && code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      if (r.stdinError instanceof TejError) throw r.stdinError;
      throw new InvalidInputError(`tej: reading the job to upload failed: ${r.stdinError.message}`, { cause: r.stdinError });
    }
    if (r.code === null) {
      throw new ConnectionError(`tej: connection to ${this.host} broke during '${what}'${r.signal ? ` (remote got ${r.signal})` : ''}`);
    }
    return r;
  }

  /**
   * The root to run COMMAND from memory in SESSION with (src/remote/session.ts), or undefined. The first
   * call of a session takes the invocation (a CLI command makes one call: the load would only delay it);
   * the second loads the helpers and probes the queue, once for the session.
   */
  private async sessionRoot(session: ShellSession): Promise<string | undefined> {
    // A shell a --persist master loaded ahead (src/persist/warm-shell.ts) takes even the first call.
    const warm = session.preloaded !== undefined && session.preloaded.loaded === sessionLoadHash(await loadBundle());
    let root = this.probed.get(session);
    if (!root && !this.firstCalls.has(session) && !warm) {
      this.firstCalls.add(session);
      return undefined;
    }
    if (!root) {
      root = (async () => {
        const bundle = await loadBundle();
        let load = loaded.get(session);
        if (!load) {
          load = warm ? Promise.resolve(true) : session.load(sessionLoadScript(bundle)).then((r) => r.code === 0);
          loaded.set(session, load);
        }
        if (!(await load)) return undefined;
        // a warm shell's master probed the default queue in it already (a call finds out if it changed since)
        const early = warm && session.preloaded?.probe?.queue === this.path ? session.preloaded.probe.stdout : undefined;
        if (early !== undefined) return probedRoot(early, bundle);
        const probe = await session.run(probeScript(shQuotePath(this.path)));
        return probe.code === 0 ? probedRoot(probe.stdout.toString(), bundle) : undefined;
      })();
      this.probed.set(session, root);
    }
    return root;
  }

  /** A call through the session's loaded helpers, or undefined when it must take the invocation. */
  private async sessionCall(command: string, args: Arg[], options: CallOptions, what: string): Promise<RunResult | undefined> {
    if (!SESSION_COMMANDS.has(command) || options.stdin || options.stdout || options.streamMarker || !this.transport.session) return undefined;
    if (!args.every((a): a is string => typeof a === 'string')) return undefined;
    const session = await this.transport.session();
    const root = await this.sessionRoot(session);
    if (root === undefined) return undefined;
    this.onEvent?.({ kind: 'exec', host: this.host, command: what });
    const r = await session.run(sessionCallScript(root, command, args));
    // The queue changed since the probe (removed, reinstalled, its mode opened): the invocation finds out
    // what and says it, or sets up, upgrades; this session probes again after that.
    if (r.code === EXIT.UNAVAILABLE || r.code === EXIT.PROTOCOL || r.code === EXIT.NOPERM) {
      this.probed.delete(session);
      return undefined;
    }
    return r;
  }

  /** Runs one helper; handles first-use setup and helper upgrades, then maps failures to errors. */
  async call(command: string, args: Arg[], options: CallOptions = {}): Promise<{ result: RunResult; reply?: Reply }> {
    const what = `tej-remote ${command} ${args.map((a) => (typeof a === 'string' ? a : a.path)).join(' ')}`.trim();
    const fast = await this.sessionCall(command, args, options, what);
    if (fast) {
      if (fast.code === null) throw new ConnectionError(`tej: connection to ${this.host} broke during '${what}'`);
      if (fast.code === 0) return { result: fast, reply: parseReply(fast.stdout.toString(), this.host) };
      throw remoteError(this.host, { command: what, code: fast.code, stderr: fast.stderr }, `'${what}' failed`);
    }
    for (let attempt = 0; ; attempt++) {
      const result = await this.run(await this.invocation(command, args, options.streamMarker), options, what);
      const text = options.stdout ? '' : result.stdout.toString();
      if (result.code === 0) return { result, reply: options.stdout ? undefined : parseReply(text, this.host) };
      if (result.code === EXIT.UNAVAILABLE && /^queue=(absent|foreign)$/m.test(text)) {
        if (text.includes('queue=foreign')) {
          throw notAQueueError(this.path, this.host, `choose another directory with --queue, or run 'tej setup ${this.host} --queue ${this.path} --force' to install into it`);
        }
        // Only submit (and setup) create a queue: a mistyped --queue on status or list must not.
        if (attempt > 0 || !(options.autoSetup ?? command === 'submit')) {
          throw new RemoteUnavailableError(`tej: no tej queue at ${this.path} on ${this.host}`, {
            hint: `check --queue, or run 'tej setup ${this.host}${this.path === DEFAULT_QUEUE ? '' : ` --queue ${this.path}`}' to create it`,
          });
        }
        this.onEvent?.({ kind: 'setup', host: this.host, queue: this.path, reason: 'first use' });
        await this.setup();
        continue;
      }
      const modified = [...text.matchAll(/^plugin_modified=(.+)$/gm)].map((m) => m[1]);
      if (result.code === EXIT.UNAVAILABLE && modified.length > 0) {
        const which = modified.map((n) => `'${n}'`).join(', ');
        throw new RemoteUnavailableError(`tej: your plugin ${which} in ${this.path} on ${this.host} has changed since you installed it; tej runs nothing of the queue until it matches`, {
          hint: `if you changed it, install it again: tej setup ${this.host}${this.path === DEFAULT_QUEUE ? '' : ` --queue ${this.path}`} --plugin-file FILE${modified.length === 1 ? ` --plugin ${modified[0]}` : ''} (else a job may have rewritten it: look at queues/ in the queue)`,
        });
      }
      if (result.code === EXIT.PROTOCOL && !options.stdout && text.includes('tej-proto=')) {
        const reply = parseReply(text, this.host);
        if (reply.proto > PROTO) {
          throw new ProtocolError(`tej: the queue ${this.path} on ${this.host} was set up by a newer tej (protocol ${reply.proto}, this tej speaks ${PROTO})`, {
            hint: 'upgrade tej on this machine, or use another --queue',
          });
        }
        if (attempt > 0) throw remoteError(this.host, { command: what, code: result.code, stderr: result.stderr }, 'protocol mismatch');
        if (reply.header.hash === 'modified') {
          // A helper no longer matches MANIFEST: never run it; put the shipped one back.
          this.onEvent?.({ kind: 'warning', host: this.host, message: `the tej helpers in ${this.path} were modified after they were installed; reinstalling them` });
        }
        this.onEvent?.({ kind: 'setup', host: this.host, queue: this.path, reason: `upgrade from ${reply.header.version ?? `protocol ${reply.proto}`}` });
        await this.install(true);
        // setup again: a newer release may record more in the queue's config (it keeps the plugin)
        if (command !== 'setup') await this.call('setup', [], { autoSetup: false });
        continue;
      }
      throw remoteError(this.host, { command: what, code: result.code, stderr: result.stderr }, `'${what}' failed`);
    }
  }

  private install(force: boolean): Promise<void> {
    this.probed = new WeakMap(); // probe again after it
    return installHelpers((script, options, what) => this.run(script, options, what), this.path, this.host, force);
  }

  async setup(options: SetupOptions = {}): Promise<SetupResult> {
    checkPluginName(options.plugin);
    // A bad plugin name or file fails before the host is touched.
    const own = options.pluginFile === undefined ? undefined : await this.readPlugin(options.pluginFile, options.plugin);
    await this.install(options.force ?? false);
    if (own) await this.installPlugin(own.name, own.data);
    const args: Arg[] = [];
    if (options.plugin) args.push('--plugin', options.plugin);
    if (options.link) args.push('--link', { path: options.link });
    const { reply } = await this.call('setup', args, { autoSetup: false });
    const h = reply!.header;
    const r: SetupResult = { queue: h.queue ?? this.path, plugin: h.plugin ?? options.plugin ?? 'direct', version: h.version ?? VERSION };
    if (h.suggest_plugin) r.suggestedPlugin = h.suggest_plugin;
    return r;
  }

  /** The name (--plugin, else the file's) and the content of a plugin file of the user's own. */
  private async readPlugin(file: string, plugin?: string): Promise<{ name: string; data: Buffer }> {
    const name = plugin ?? basename(file).replace(/\.sh$/, '');
    if (!PLUGIN_NAME.test(name)) {
      throw new InvalidInputError(`tej: '${name}' is not a plugin name (from ${plugin === undefined ? `the file name ${file}` : '--plugin'})`, {
        hint: 'plugin names are a lower-case letter, then up to 31 of a-z, 0-9, _ and -: name it with --plugin NAME',
      });
    }
    if (bundlePlugins(await loadBundle()).includes(name)) {
      throw new InvalidInputError(`tej: '${name}' is one of tej's own plugins; yours needs another name`, { hint: 'name it with --plugin NAME' });
    }
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (e) {
      throw fromFsError(e, { doing: 'read the plugin file' });
    }
    return { name, data };
  }

  /** Copies the user's plugin into queues/NAME.sh, then records its hash on this machine. */
  private async installPlugin(name: string, data: Buffer): Promise<void> {
    const q = shQuotePath(this.path);
    // Into place by rename, so that a call never sources half a file.
    const script = `umask 077; Q=${q}; cd "$Q" && mkdir -p queues && cat > queues/.${name}.sh.$$ && mv -f queues/.${name}.sh.$$ queues/${name}.sh`;
    const r = await this.run(script, { stdin: () => Readable.from([data]) }, `install the plugin ${name} into ${this.path}`);
    if (r.code !== 0) throw remoteError(this.host, { command: 'install plugin', code: r.code ?? 1, stderr: r.stderr }, `cannot install the plugin ${name} into ${this.path}`);
    this.ownPlugins = saveUserPlugin(this.host, this.path, name, sha256(data));
    await this.ownPlugins;
  }

  async submit(dir: string, options: SubmitOptions): Promise<SubmitResult> {
    return this.submitPrepared(prepareSubmission(dir, options));
  }

  /** Submits a job prepared by prepareSubmission (which may have run while this queue connected). */
  async submitPrepared(prepared: PreparedSubmission | Promise<PreparedSubmission>): Promise<SubmitResult> {
    const { id, scan, options, nonce, meta: metaPromise, packed: packing } = await prepared;
    const meta = await metaPromise;
    const packed = await packing; // a file that cannot be read fails here, before anything is sent
    const args = [id, nonce];
    if (options.plugin) args.push('--plugin', options.plugin);
    if (options.keepInput ?? scan.bytes <= KEEP_INPUT_MAX_BYTES) args.push('--keep-input');
    const totalFiles = scan.entries.filter((e) => e.type === 'file').length;
    const inline = this.transport.session && scan.bytes <= INLINE_MAX_BYTES ? await inlineTar(packed ? replay(packed) : packJob(scan, meta, nonce)) : undefined;
    // A repeat after a broken connection sends the same id and nonce: if the first attempt got as far
    // as claiming the id, the helper answers with that job instead of "exists" (resumed=1).
    const { reply } = await this.retrying('submit', () =>
      this.call('submit', args, {
        inline,
        onSend: () => {
          this.onEvent?.({ kind: 'upload-progress', host: this.host, bytes: scan.bytes, files: totalFiles, totalBytes: scan.bytes, totalFiles });
          this.onEvent?.({ kind: 'upload-committed', host: this.host, id });
        },
        stdin: () => {
          const progress = (bytes: number, files: number) => this.onEvent?.({ kind: 'upload-progress', host: this.host, bytes, files, totalBytes: scan.bytes, totalFiles });
          const source = packed ? replay(packed, progress) : packJob(scan, meta, nonce, progress);
          return committing(source, () => this.onEvent?.({ kind: 'upload-committed', host: this.host, id }));
        },
      }),
    );
    return submitResult(reply!, id);
  }

  /** Status of several jobs in one request. A job that does not exist maps to undefined. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus | undefined>> {
    ids.forEach((id) => checkJobId(id));
    const { reply } = await this.retrying('status', () => this.call('status', ids));
    const now = Number(reply!.header.now ?? Date.now() / 1000);
    const out = new Map<string, JobStatus | undefined>(ids.map((id) => [id, undefined]));
    for (const r of reply!.records) if (r.id) out.set(r.id, toJobStatus(r, now));
    return out;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return (await this.statuses([id])).get(id);
  }

  async list(): Promise<JobStatus[]> {
    const { reply } = await this.retrying('list', () => this.call('list', []));
    const now = Number(reply!.header.now ?? Date.now() / 1000);
    return reply!.records.map((r) => toJobStatus(r, now)).filter((s): s is JobStatus => s !== undefined);
  }

  async kill(id: string, options: { grace?: number } = {}): Promise<KillResult> {
    checkJobId(id);
    const args = [id];
    if (options.grace !== undefined) args.push('--grace', String(options.grace));
    const { reply } = await this.call('kill', args);
    const r = reply!.records[0] ?? {};
    return { id, previousState: r.previous_state as JobState, state: r.state as JobState };
  }

  async remove(id: string, options: { kill?: boolean } = {}): Promise<void> {
    checkJobId(id);
    await this.call('delete', options.kill ? [id, '--kill'] : [id]);
  }

  /** Downloads each spec (`path`, `path:`, `path:dest`); `stdout` receives the `path:` ones. */
  async download(id: string, specs: string[], options: { cwd?: string; stdout?: Writable } = {}): Promise<ExtractResult[]> {
    checkJobId(id);
    const parsed = specs.map((s) => parseDownloadSpec(s));
    const results: ExtractResult[] = [];
    for (const spec of parsed) {
      const stdout = options.stdout ?? process.stdout;
      const destination = await destinationFor(spec, options.cwd ?? process.cwd(), stdout === process.stdout);
      const progress = (bytes: number, files: number, done = false) => this.onEvent?.({ kind: 'download-progress', host: this.host, path: spec.remote, destination, bytes, files, done });
      for (let attempt = 0; ; attempt++) {
        const raw = new PassThrough({ highWaterMark: STREAM_BUFFER });
        const stream = skipToMarker(raw, this.host);
        const extracting = extractDownload(stream, destination, stdout, progress);
        // A local failure (a full disk, a file in the way) stops the download at once: destroying what the
        // channel writes into closes the channel, so the host's tar stops instead of waiting for a reader.
        let localError: unknown;
        extracting.catch((e: unknown) => {
          localError = e;
          raw.destroy();
          stream.destroy();
        });
        try {
          await this.call('download', [id, spec.remote], { stdout: raw, streamMarker: true });
        } catch (e) {
          raw.destroy();
          stream.destroy();
          if (localError !== undefined) throw localError;
          if (attempt === 0 && e instanceof TejError && e.exitCode === EXIT.PROTOCOL) {
            // The helpers are not this client's (tej was upgraded): a stream call cannot read the reply
            // that says so, but a plain one can, and installs them (or refuses a newer queue). Then again.
            await this.call('setup', [], { autoSetup: false });
            continue;
          }
          if (e instanceof TejError && e.exitCode === EXIT.NOINPUT && !/no such job/i.test(e.message)) {
            throw new JobFileNotFoundError(e.message, { remote: e.remote, hint: e.hint ?? "paths are relative to the job's work directory, where its start.sh ran" });
          }
          throw e;
        }
        if (localError !== undefined) throw localError;
        raw.end();
        const result = await extracting;
        progress(result.bytes, result.files, true);
        results.push(result);
        break;
      }
    }
    return results;
  }

  /**
   * Full records (status, host, spec, submission record with git provenance) of several jobs, one
   * request. `brief` leaves out the submission record, which may hold a large git diff.
   */
  async show(ids: string[], options: { brief?: boolean } = {}): Promise<Map<string, JobRecord | undefined>> {
    ids.forEach((id) => checkJobId(id));
    const { reply } = await this.call('show', options.brief ? ['--brief', ...ids] : ids);
    const now = Number(reply!.header.now ?? Date.now() / 1000);
    const out = new Map<string, JobRecord | undefined>(ids.map((id) => [id, undefined]));
    for (const r of reply!.records) if (r.id) out.set(r.id, toJobRecord(r, reply!.header, now));
    return out;
  }

  /**
   * Writes the job's stdout (or stderr) file to `out`; with `follow`, one remote loop goes on sending
   * what the job appends until it ends. The job is looked up first (a missing one is JobNotFoundError),
   * which also installs or upgrades the helpers before the stream starts.
   */
  async logs(id: string, out: Writable, options: { stderr?: boolean; follow?: boolean } = {}): Promise<void> {
    checkJobId(id);
    if (!(await this.status(id))) throw new JobNotFoundError(`tej: no such job: ${id} (on ${this.host})`, { hint: `'tej list ${this.host}' shows the jobs` });
    const args = [id];
    if (options.stderr) args.push('--stderr');
    if (options.follow) args.push('--follow');
    const raw = new PassThrough();
    const stream = skipToMarker(raw, this.host);
    stream.pipe(out, { end: false });
    const drained = new Promise<void>((resolve, reject) => stream.on('error', reject).on('end', resolve).on('close', resolve));
    try {
      await this.call('logs', args, { stdout: raw, streamMarker: true });
    } finally {
      raw.end();
    }
    await drained;
  }

  /** Runs a job again under `newId` from the inputs it was uploaded with (kept on the host as input.tar). */
  async resubmit(id: string, newId: string): Promise<SubmitResult> {
    checkJobId(id);
    checkJobId(newId);
    // a fresh nonce: of two resubmits to one new id, one wins and the other gets 73
    const { reply } = await this.call('resubmit', [id, newId, randomBytes(8).toString('hex')]);
    return submitResult(reply!, newId);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** A tar stream read whole, when it is at most INLINE_MAX_BYTES long. */
async function inlineTar(source: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length > INLINE_MAX_BYTES) {
        source.destroy();
        return undefined;
      }
    }
  } catch (e) {
    // as run() says it for a streamed upload
    if (e instanceof TejError) throw e;
    throw new InvalidInputError(`tej: reading the job to upload failed: ${(e as Error).message}`, { cause: e });
  }
  return Buffer.concat(chunks, length);
}

/** The reply of submit and resubmit → what they return. */
function submitResult(reply: Reply, id: string): SubmitResult {
  const r = reply.records[0] ?? reply.header;
  return { id: r.id ?? id, plugin: r.plugin ?? 'direct', nativeId: r.native_id ?? '', state: (r.state as JobState) ?? 'running' };
}

/**
 * Passes SOURCE through and calls onCommit just before the last two chunks go on: they hold the end
 * marker (and the tar's end blocks), without which the host starts nothing. Until then, a client that
 * stops (Ctrl-C) leaves no job; after it, the job may start.
 */
function committing(source: Readable, onCommit: () => void): Readable {
  return Readable.from(
    (async function* () {
      const held: Buffer[] = [];
      for await (const chunk of source as AsyncIterable<Buffer>) {
        held.push(chunk);
        if (held.length > 2) yield held.shift()!;
      }
      onCommit();
      yield* held;
    })(),
    { objectMode: false },
  );
}
