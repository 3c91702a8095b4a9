// A tej queue on one host: the typed library API. Every operation is one helper call over the session's
// single connection; a host without a queue is set up on first use, and out-of-date helpers upgraded.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import pRetry from 'p-retry';
import { EXIT, InvalidInputError, JobFileNotFoundError, JobNotFoundError, ProtocolError, RemoteUnavailableError, TejError, ConnectionError } from './errors.js';
import type { EventHandler } from './events.js';
import { checkJobId } from './job/id.js';
import { packJob, type JobMeta } from './job/pack.js';
import { planJob, type JobPlan } from './job/plan.js';
import { prepack, PREPACK_MAX_BYTES, replay, type Prepacked } from './job/prepack.js';
import { toJobStatus, type JobState, type JobStatus } from './job/status.js';
import { toJobRecord, type JobRecord } from './job/record.js';
import { submissionMeta } from './job/submission.js';
import { checkOutputPath } from './job/spec.js';
import { fromFsError } from './fs-errors.js';
import { remoteError } from './protocol/exit-codes.js';
import { parseReply, type Reply } from './protocol/reply.js';
import { loadBundle, manifest, packBundle } from './remote/bundle.js';
import { builtinPlugins, loadUserPlugins, PLUGIN_NAME, pluginCheck, saveUserPlugin, sha256, type UserPlugins } from './remote/user-plugins.js';
import { destinationFor, extractDownload, type ExtractResult } from './download/extract.js';
import { parseDownloadSpec } from './download/spec.js';
import { shQuote, shQuotePath } from './transport/quote.js';
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

export interface SubmitOptions extends Omit<JobMeta, 'spec'> {
  id: string;
  plugin?: string;
  spec?: unknown;
  /** gitignore patterns not to upload, on top of the job directory's .tejignore. */
  exclude?: string[];
  /**
   * Keep the upload on the host as the job's input.tar, so that `resubmit` can run it again from the
   * same inputs. It costs the upload's size in disk and about a third more time to submit.
   * @default true for uploads up to KEEP_INPUT_MAX_BYTES, false above
   */
  keepInput?: boolean;
}

/** Uploads up to this size are kept for `resubmit` unless asked otherwise. */
export const KEEP_INPUT_MAX_BYTES = 64 * 1024 * 1024;

/** A job checked and scanned, ready to send: what submit needs before it touches the host. */
export interface PreparedSubmission {
  id: string;
  options: SubmitOptions;
  scan: JobPlan;
  /** Names this submit: a retry after a broken connection sends the same one (docs/protocol.md). */
  nonce: string;
  /** The job's meta files; the git provenance in it may take a while, so it is awaited last. */
  meta: Promise<JobMeta>;
  /** The tar stream read ahead into memory (with `prepack`, for jobs up to PREPACK_MAX_BYTES). */
  packed?: Promise<Prepacked>;
}

/** Checks a submit's id and plugin name, without touching the file system; returns the id. */
export function checkSubmitOptions(options: SubmitOptions): string {
  const id = checkJobId(options.id);
  checkOutputPath(options.stdout, 'stdout');
  checkOutputPath(options.stderr, 'stderr');
  if (options.plugin !== undefined && !PLUGIN_NAME.test(options.plugin)) {
    throw new InvalidInputError(`tej: bad plugin name '${options.plugin}'`, { hint: 'plugins are named like direct or slurm' });
  }
  return id;
}

/**
 * Checks the id and plugin and scans the job directory (bad input fails here, before anything is sent),
 * then starts collecting the submission record, and with `prepack` reads a small job's tar stream into
 * memory. The CLI runs this during the SSH handshake (src/cli/prepare.ts); on a queue already
 * connected, `prepack` would only put the packing before the upload instead of beside it.
 */
export async function prepareSubmission(dir: string, options: SubmitOptions, ahead: { prepack?: boolean } = {}): Promise<PreparedSubmission> {
  const id = checkSubmitOptions(options);
  // keepInput is a submit option, not a meta file: left out of rest
  const { exclude, keepInput, ...rest } = options;
  const scan = await planJob(dir, { script: options.script, command: options.command, exclude });
  const meta: JobMeta = { ...rest, script: options.command === undefined ? scan.script : undefined };
  const full = submissionMeta(dir, meta).then((extra) => ({ ...meta, ...extra }));
  full.catch(() => undefined); // observed by submitPrepared; never an unhandled rejection meanwhile
  const nonce = randomBytes(8).toString('hex');
  const packed = ahead.prepack && scan.bytes <= PREPACK_MAX_BYTES ? full.then((m) => prepack(scan, m, nonce)) : undefined;
  packed?.catch(() => undefined); // likewise
  return { id, options, scan, nonce, meta: full, ...(packed ? { packed } : {}) };
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

type CallOptions = RunOptions & { autoSetup?: boolean; streamMarker?: boolean };
/** An argument that is a path on the host: a leading ~/ expands to the remote $HOME. */
export type Arg = string | { path: string };

/** Printed before a download's tar stream: login files may print banners on stdout before it. */
export const STREAM_MARKER = 'tej-stream-begins\n';

// What a stream call's pass-through streams hold before they push back: the default (16 KiB) is less than
// one SSH packet (32 KiB), so every packet paused and resumed the channel; 1 MiB (half the channel's
// window) cost a 200 MB download a fifth less CPU in the client's pipeline.
const STREAM_BUFFER = 1 << 20;

function quoteArg(a: Arg): string {
  return typeof a === 'string' ? shQuote(a) : shQuotePath(a.path);
}

/** How often an idempotent call is sent again over a new connection after the old one broke. */
export const CALL_RETRIES = 3;

export class Queue {
  private broken = false;
  private ownPlugins?: Promise<UserPlugins>;

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
    const bundle = await loadBundle();
    const { hash } = bundle;
    const q = shQuotePath(this.path);
    // Before the dispatcher runs, the installed helpers (tej-remote itself included) are checked against
    // this client's own MANIFEST, sent here: a job, which runs as the same user, could edit a helper and
    // the host's MANIFEST with it. Any difference: no helper runs, and the reply says the installed
    // protocol and hash (hash=modified when VERSION claims this very bundle), which the client answers
    // by reinstalling (or refusing a newer queue). A host with no sha256 tool relies on VERSION's hash.
    const check =
      `(cd "$Q" && M=${shQuote(manifest(bundle))} && if command -v sha256sum >/dev/null 2>&1; then printf '%s' "$M" | sha256sum -c -; ` +
      `elif command -v shasum >/dev/null 2>&1; then printf '%s' "$M" | shasum -a 256 -c -; fi) >/dev/null 2>&1`;
    const mismatch =
      `p=0; h=; while IFS= read -r l || test -n "$l"; do case $l in proto=*) p=\${l#proto=} ;; hash=*) h=\${l#hash=} ;; esac; l=; done <"$Q/VERSION"; ` +
      `printf 'tej-proto=%s\\n' "$p"; if test "$h" = ${hash}; then printf 'hash=modified\\n'; ` +
      `echo "tej-remote: the helpers installed in $Q were modified after they were installed" >&2; else printf 'hash=%s\\n' "$h"; fi; exit ${EXIT.PROTOCOL}`;
    // TEJ_CALLER_PID: this shell's parent (sshd's session process, a login shell, or the local client),
    // which the shell read when it started, before this script arrived: a follower started after the
    // client left still knows whom to watch (logs.sh).
    // No VERSION: say whether the directory is absent (set it up) or something else (refuse), in the
    // reply format, so that the client can tell the two apart. A directory holding another client's
    // install in progress (.install.PID) is not foreign: this one installs too (each into its own dir).
    return (
      `Q=${q}; if test -f "$Q/VERSION"; then if ${check}; then ${pluginCheck(bundle, await this.userPlugins())}${marker ? `printf 'tej-stream-begins\\n'; ` : ''}` +
      `TEJ_CALLER_PID=$PPID; export TEJ_CALLER_PID; exec /bin/sh "$Q/tej-remote" --proto ${PROTO} --hash ${hash} --verified ${[command, ...args].map(quoteArg).join(' ')}; fi; ${mismatch}; fi; ` +
      `printf 'tej-proto=0\\n'; if test -e "$Q" && { test ! -d "$Q" || { test ! -f "$Q/tej-remote" && test -n "$(ls -A "$Q")" && ! ls -A "$Q" | grep -q '^\\.install\\.'; }; }; ` +
      `then printf 'queue=foreign\\n'; else printf 'queue=absent\\n'; fi; exit ${EXIT.UNAVAILABLE}`
    );
  }

  /** The plugins this machine installed into this queue with setup --plugin-file (src/remote/user-plugins.ts). */
  private userPlugins(): Promise<UserPlugins> {
    this.ownPlugins ??= loadUserPlugins(this.host, this.path);
    return this.ownPlugins;
  }

  private async run(script: string, options: RunOptions, what: string): Promise<RunResult> {
    this.onEvent?.({ kind: 'exec', host: this.host, command: what });
    const r = await this.transport.run(script, options);
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

  /** Runs one helper; handles first-use setup and helper upgrades, then maps failures to errors. */
  async call(command: string, args: Arg[], options: CallOptions = {}): Promise<{ result: RunResult; reply?: Reply }> {
    const what = `tej-remote ${command} ${args.map((a) => (typeof a === 'string' ? a : a.path)).join(' ')}`.trim();
    for (let attempt = 0; ; attempt++) {
      const result = await this.run(await this.invocation(command, args, options.streamMarker), options, what);
      const text = options.stdout ? '' : result.stdout.toString();
      if (result.code === 0) return { result, reply: options.stdout ? undefined : parseReply(text, this.host) };
      if (result.code === EXIT.UNAVAILABLE && /^queue=(absent|foreign)$/m.test(text)) {
        if (text.includes('queue=foreign')) {
          throw new RemoteUnavailableError(`tej: ${this.path} on ${this.host} exists and is not a tej queue`, {
            hint: `choose another directory with --queue, or run 'tej setup ${this.host} --queue ${this.path} --force' to install into it`,
          });
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

  /** Copies the helpers into the queue (one tar stream over the same channel kind as every call). */
  private async install(force: boolean): Promise<void> {
    const bundle = await loadBundle();
    const q = shQuotePath(this.path);
    // Files are moved into place one by one (rename is atomic, so a running job never reads a
    // half-written helper); VERSION goes last, so a torn install is seen as "absent" and redone.
    const refuseForeign = force
      ? ''
      : `if test ! -f VERSION && test ! -f tej-remote && test -n "$(ls -A)" && ! ls -A | grep -q '^\\.install\\.'; then echo "tej-remote: $Q exists and is not a tej queue" >&2; exit ${EXIT.UNAVAILABLE}; fi; `;
    const script =
      `umask 077; Q=${q}; mkdir -p "$Q" && cd "$Q" || exit ${EXIT.NOPERM}; ${refuseForeign}chmod 700 . && T=.install.$$ && rm -rf "$T" && mkdir "$T" && ` +
      `tar -xf - -C "$T" && (cd "$T" && find . -type f ! -name VERSION) | while IFS= read -r f; do mkdir -p "$(dirname "$f")" && mv -f "$T/$f" "$f" || exit 1; done && ` +
      `mv -f "$T/VERSION" VERSION && rm -rf "$T"`;
    const r = await this.run(script, { stdin: () => packBundle(bundle) }, `install tej helpers into ${this.path}`);
    if (r.code !== 0) {
      const e = remoteError(this.host, { command: 'install', code: r.code, stderr: r.stderr }, `cannot install the tej helpers into ${this.path}`);
      if (r.code === EXIT.UNAVAILABLE) {
        throw new RemoteUnavailableError(`tej: ${this.path} on ${this.host} exists and is not a tej queue`, {
          hint: `choose another directory with --queue, or pass --force to install into it`,
        });
      }
      throw e;
    }
  }

  async setup(options: SetupOptions = {}): Promise<SetupResult> {
    if (options.plugin !== undefined && !PLUGIN_NAME.test(options.plugin)) {
      throw new InvalidInputError(`tej: bad plugin name '${options.plugin}'`, { hint: 'plugins are named like direct or slurm' });
    }
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
    if (builtinPlugins(await loadBundle()).includes(name)) {
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
    // A repeat after a broken connection sends the same id and nonce: if the first attempt got as far
    // as claiming the id, the helper answers with that job instead of "exists" (resumed=1).
    const { reply } = await this.retrying('submit', () =>
      this.call('submit', args, {
        stdin: () => {
          const progress = (bytes: number, files: number) => this.onEvent?.({ kind: 'upload-progress', host: this.host, bytes, files, totalBytes: scan.bytes, totalFiles });
          const source = packed ? replay(packed, progress) : packJob(scan, meta, nonce, progress);
          return committing(source, () => this.onEvent?.({ kind: 'upload-committed', host: this.host, id }));
        },
      }),
    );
    const r = reply!.records[0] ?? reply!.header;
    return { id: r.id ?? id, plugin: r.plugin ?? 'direct', nativeId: r.native_id ?? '', state: (r.state as JobState) ?? 'running' };
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
    const r = reply!.records[0] ?? reply!.header;
    return { id: r.id ?? newId, plugin: r.plugin ?? 'direct', nativeId: r.native_id ?? '', state: (r.state as JobState) ?? 'running' };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
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

/** How much a login banner may print before the stream marker: past it, the reply is not tej's. */
export const BANNER_MAX_BYTES = 1 << 20;

/**
 * Drops what login files printed before the marker (up to BANNER_MAX_BYTES, else a ProtocolError);
 * passes the stream after it through, pausing `input` while `out` is full (from its first write on).
 */
export function skipToMarker(input: PassThrough, host = 'the host'): PassThrough {
  const out = new PassThrough({ highWaterMark: STREAM_BUFFER });
  const marker = Buffer.from(STREAM_MARKER);
  // Before the marker only its length-1 last bytes are kept (they may hold its start); `skipped` counts the rest.
  let pending: Buffer | undefined = Buffer.alloc(0);
  let skipped = 0;
  let head = Buffer.alloc(0); // the banner's first bytes, for the message when the stream never begins
  const forward = (chunk: Buffer) => {
    if (!out.write(chunk)) {
      input.pause();
      out.once('drain', () => input.resume());
    }
  };
  input.on('data', (chunk: Buffer) => {
    if (pending === undefined) return forward(chunk);
    if (head.length < 200) head = Buffer.concat([head, chunk.subarray(0, 200 - head.length)]);
    const seen: Buffer = Buffer.concat([pending, chunk]);
    const at = seen.indexOf(marker);
    if (at >= 0) {
      pending = undefined;
      const rest = seen.subarray(at + marker.length);
      if (rest.length) forward(rest);
      return;
    }
    const keep = Math.min(seen.length, marker.length - 1);
    skipped += seen.length - keep;
    pending = Buffer.from(seen.subarray(seen.length - keep));
    if (skipped > BANNER_MAX_BYTES) {
      out.destroy(
        new ProtocolError(`tej: ${host} printed more than ${BANNER_MAX_BYTES >> 20} MiB before the stream began; that is not a tej reply`, {
          hint: 'a login file (~/.bashrc, ~/.profile) may print endlessly on stdout: make it quiet for non-interactive shells',
        }),
      );
      input.destroy();
    }
  });
  // A stream that ended without its marker is not an empty success: the helper never ran (a login shell
  // that could not parse the command once exited 0 with nothing on stdout).
  input.on('end', () => {
    if (pending === undefined) return out.end();
    const seen = head.length > 0 ? `it printed ${JSON.stringify(head.toString())}` : 'it printed nothing';
    out.destroy(new ProtocolError(`tej: the reply from ${host} ended before its stream began (${seen})`, { hint: 'run the command again with -v; if it fails again, please report it' }));
  });
  input.on('close', () => {
    if (!input.readableEnded) out.destroy();
  });
  return out;
}
