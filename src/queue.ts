// A tej queue on one host: the typed library API. Every operation is one helper call over the session's
// single connection; a host without a queue is set up on first use, and out-of-date helpers upgraded.
import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import { EXIT, InvalidInputError, JobNotFoundError, ProtocolError, RemoteUnavailableError, TejError, ConnectionError } from './errors.js';
import type { EventHandler } from './events.js';
import { checkJobId } from './job/id.js';
import { packJob, scanJobDir, type JobMeta } from './job/pack.js';
import { toJobStatus, type JobState, type JobStatus } from './job/status.js';
import { remoteError } from './protocol/exit-codes.js';
import { parseReply, type Reply } from './protocol/reply.js';
import { loadBundle, packBundle } from './remote/bundle.js';
import { destinationFor, extractDownload, type ExtractResult } from './download/extract.js';
import { parseDownloadSpec } from './download/spec.js';
import { shQuote, shQuotePath } from './transport/quote.js';
import type { RunOptions, RunResult, Transport } from './transport/transport.js';
import { PROTO, VERSION } from './version.js';

export const DEFAULT_QUEUE = '~/.tej';
export const PLUGIN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export interface SetupOptions {
  /** Default plugin for jobs of this queue. @default 'direct' */
  plugin?: string;
  /** Make this path a symlink to the queue, so later commands find it by default. */
  link?: string;
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
  exclude?: (path: string) => boolean;
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

function quoteArg(a: Arg): string {
  return typeof a === 'string' ? shQuote(a) : shQuotePath(a.path);
}

export class Queue {
  constructor(
    readonly transport: Transport,
    /** The queue directory on the host. @default '~/.tej' */
    readonly path: string = DEFAULT_QUEUE,
    private readonly onEvent?: EventHandler,
  ) {}

  get host(): string {
    return this.transport.label;
  }

  private async invocation(command: string, args: Arg[], marker = false): Promise<string> {
    const { hash } = await loadBundle();
    const q = shQuotePath(this.path);
    // No VERSION: say whether the directory is absent (set it up) or something else (refuse), in the
    // reply format, so that the client can tell the two apart.
    return (
      `Q=${q}; if test -f "$Q/VERSION"; then ${marker ? `printf 'tej-stream-begins\\n'; ` : ''}exec /bin/sh "$Q/tej-remote" --proto ${PROTO} --hash ${hash} ${[command, ...args].map(quoteArg).join(' ')}; fi; ` +
      `printf 'tej-proto=0\\n'; if test -e "$Q" && { test ! -d "$Q" || { test ! -f "$Q/tej-remote" && test -n "$(ls -A "$Q")"; }; }; ` +
      `then printf 'queue=foreign\\n'; else printf 'queue=absent\\n'; fi; exit ${EXIT.UNAVAILABLE}`
    );
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
        if (attempt > 0 || options.autoSetup === false) throw new RemoteUnavailableError(`tej: no tej queue at ${this.path} on ${this.host}`, { hint: `run 'tej setup ${this.host}'` });
        this.onEvent?.({ kind: 'setup', host: this.host, queue: this.path, reason: 'first use' });
        await this.setup();
        continue;
      }
      if (result.code === EXIT.PROTOCOL && !options.stdout && text.includes('tej-proto=')) {
        const reply = parseReply(text, this.host);
        if (reply.proto > PROTO) {
          throw new ProtocolError(`tej: the queue ${this.path} on ${this.host} was set up by a newer tej (protocol ${reply.proto}, this tej speaks ${PROTO})`, {
            hint: 'upgrade tej on this machine, or use another --queue',
          });
        }
        if (attempt > 0) throw remoteError(this.host, { command: what, code: result.code, stderr: result.stderr }, 'protocol mismatch');
        this.onEvent?.({ kind: 'setup', host: this.host, queue: this.path, reason: `upgrade from ${reply.header.version ?? `protocol ${reply.proto}`}` });
        await this.install(true);
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
      : `if test ! -f VERSION && test ! -f tej-remote && test -n "$(ls -A)"; then echo "tej-remote: $Q exists and is not a tej queue" >&2; exit ${EXIT.UNAVAILABLE}; fi; `;
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
    await this.install(options.force ?? false);
    const args: Arg[] = [];
    if (options.plugin) args.push('--plugin', options.plugin);
    if (options.link) args.push('--link', { path: options.link });
    const { reply } = await this.call('setup', args, { autoSetup: false });
    const h = reply!.header;
    const r: SetupResult = { queue: h.queue ?? this.path, plugin: h.plugin ?? options.plugin ?? 'direct', version: h.version ?? VERSION };
    if (h.suggest_plugin) r.suggestedPlugin = h.suggest_plugin;
    return r;
  }

  async submit(dir: string, options: SubmitOptions): Promise<SubmitResult> {
    const id = checkJobId(options.id);
    if (options.plugin !== undefined && !PLUGIN_NAME.test(options.plugin)) {
      throw new InvalidInputError(`tej: bad plugin name '${options.plugin}'`, { hint: 'plugins are named like direct or slurm' });
    }
    const scan = await scanJobDir(dir, options.exclude);
    const meta: JobMeta = { ...options };
    if (meta.command === undefined) {
      meta.script ??= 'start.sh';
      const script = scan.entries.find((e) => e.path === meta.script);
      if (!script || script.type === 'directory') {
        throw new InvalidInputError(`tej: job directory '${dir}' has no ${meta.script}`, {
          hint: 'add a start.sh, name another script with --script FILE, or give a command with --script "CMD"',
        });
      }
    }
    const nonce = randomBytes(8).toString('hex');
    const args = [id, nonce];
    if (options.plugin) args.push('--plugin', options.plugin);
    const { reply } = await this.call('submit', args, {
      stdin: () => packJob(scan, meta, nonce, (bytes, files) => this.onEvent?.({ kind: 'upload-progress', host: this.host, bytes, files })),
    });
    const r = reply!.records[0] ?? reply!.header;
    return { id: r.id ?? id, plugin: r.plugin ?? 'direct', nativeId: r.native_id ?? '', state: (r.state as JobState) ?? 'running' };
  }

  /** Status of several jobs in one request. A job that does not exist maps to undefined. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus | undefined>> {
    ids.forEach((id) => checkJobId(id));
    const { reply } = await this.call('status', ids);
    const now = Number(reply!.header.now ?? Date.now() / 1000);
    const out = new Map<string, JobStatus | undefined>(ids.map((id) => [id, undefined]));
    for (const r of reply!.records) if (r.id) out.set(r.id, toJobStatus(r, now));
    return out;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return (await this.statuses([id])).get(id);
  }

  async list(): Promise<JobStatus[]> {
    const { reply } = await this.call('list', []);
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
    const parsed = specs.map(parseDownloadSpec);
    const results: ExtractResult[] = [];
    for (const spec of parsed) {
      const destination = await destinationFor(spec, options.cwd ?? process.cwd());
      const raw = new PassThrough();
      const stream = skipToMarker(raw);
      const extracting = extractDownload(stream, destination, options.stdout ?? process.stdout);
      extracting.catch(() => undefined); // observed below, after the exit status is known
      try {
        await this.call('download', [id, spec.remote], { stdout: raw, streamMarker: true });
      } catch (e) {
        raw.destroy();
        stream.destroy();
        if (e instanceof TejError && e.exitCode === EXIT.NOINPUT && !/no such job/i.test(e.message)) {
          throw new JobNotFoundError(e.message.replace(/^tej: /, 'tej: '), { remote: e.remote, hint: e.hint });
        }
        throw e;
      }
      raw.end();
      results.push(await extracting);
    }
    return results;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Drops what login files printed before the marker; passes the tar stream after it through. */
function skipToMarker(input: PassThrough): PassThrough {
  const out = new PassThrough();
  const marker = Buffer.from(STREAM_MARKER);
  let pending: Buffer | undefined = Buffer.alloc(0);
  input.on('data', (chunk: Buffer) => {
    if (pending === undefined) {
      if (!out.write(chunk)) {
        input.pause();
        out.once('drain', () => input.resume());
      }
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const at = pending.indexOf(marker);
    if (at >= 0) {
      const rest = pending.subarray(at + marker.length);
      pending = undefined;
      if (rest.length) out.write(rest);
    }
  });
  input.on('end', () => out.end());
  input.on('close', () => {
    if (!input.readableEnded) out.destroy();
  });
  return out;
}
