// A tej queue on one host: the typed library API. Every operation is one helper call over the session's
// single connection; a host without a queue is set up on first use, and out-of-date helpers upgraded.
// The longer operations live beside what they work on (src/job/submit.ts, src/job/logs.ts,
// src/download/fetch.ts, src/remote/setup.ts, src/job/forward-job.ts) and use this queue through src/remote/call.ts.
// Length: over 300 lines: one short method per operation of the public API, the class users hold.
import type { Writable } from 'node:stream';
import pRetry from 'p-retry';
import { EXIT, JobNotFoundError, JobRunningError, ConnectionError, TejError, UsageError } from './errors.js';
import type { EventHandler } from './events.js';
import { download, type DownloadOptions } from './download/fetch.js';
import type { ExtractResult } from './download/extract.js';
import { syncDownload, type SyncOptions, type SyncResult } from './download/watch.js';
import { checkJobId } from './job/id.js';
import { AfterMarker, execArgs, execOutcome, type ExecOptions } from './job/exec.js';
import { forwardJob, type ForwardHandle, type ForwardOptions, type ForwardSpec } from './job/forward-job.js';
import { writeLogs } from './job/logs.js';
import { listJobFiles, type JobFileEntry } from './job/ls.js';
import { runShell, type ShellOptions } from './job/shell.js';
import { checkPluginName, prepareSubmission, type PreparedSubmission, type SubmitOptions } from './job/prepare.js';
import { killResult, listedStatuses, toJobStatus, type JobStatus, type KillResult } from './job/status.js';
import { resubmit, submitPrepared, type SubmitResult } from './job/submit.js';
import { toJobRecord, type JobRecord } from './job/record.js';
import { waitForJobs, type WaitOptions, type WaitResult } from './job/wait.js';
import { remoteError } from './protocol/exit-codes.js';
import { invocationScript, withInlineStdin, type Arg } from './protocol/invocation.js';
import { parseReply, recordsById } from './protocol/reply.js';
import { loadUserPlugins, PLUGIN_NAME, pluginCheck, type UserPlugins } from './remote/user-plugins.js';
import { loadBundle } from './remote/bundle.js';
import { DEFAULT_QUEUE, HelpersOutdatedError, retryPolicy, runFailure, type CallOptions, type CallResult, type QueueCalls } from './remote/call.js';
import { installHelpersVia } from './remote/install-sftp.js';
import { modifiedPluginError, newerQueueError, noQueueError, notAQueueError } from './remote/install.js';
import { installPlugin, readPluginFile, setupResult, type SetupOptions, type SetupResult } from './remote/setup.js';
import { SessionCalls } from './remote/session-calls.js';
import type { RunResult, Transport } from './transport/transport.js';
import { PROTO } from './version.js';

export { DEFAULT_QUEUE, PLUGIN_NAME, type ExecOptions, type ForwardHandle, type ForwardOptions, type ShellOptions, type KillResult, type SetupOptions, type SetupResult, type SubmitResult };

export class Queue {
  private broken = false;
  private ownPlugins?: Promise<UserPlugins>;
  /** The calls that run from memory in the connection's shell (src/remote/session-calls.ts). */
  private readonly sessionCalls: SessionCalls;

  constructor(
    public transport: Transport,
    /** The queue directory on the host. @default '~/.tej' */
    readonly path: string = DEFAULT_QUEUE,
    private readonly onEvent?: EventHandler,
    /** Opens a new transport to the same host, for calls retried after the connection broke. */
    private readonly reopen?: () => Promise<Transport>,
  ) {
    this.sessionCalls = new SessionCalls(() => this.transport, path, onEvent);
  }

  /**
   * Runs `fn`; when the connection breaks (a transient network error, never auth or host key), opens a
   * new one and runs `fn` again. Only for calls that are safe to repeat: status, list, setup, and submit,
   * whose nonce makes a repeat find its own job (docs/protocol.md, submit).
   */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.reopen) return fn();
    // The first attempt outside p-retry, which costs a warm call (~0.3 ms) a tenth of its client CPU
    // in the objects it makes; a retryable failure goes on in p-retry as its own first attempt would.
    let failed: { error: unknown } | undefined;
    if (!this.broken) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof TejError && e.retryable)) throw e;
        if (e instanceof ConnectionError) this.broken = true;
        failed = { error: e };
      }
    }
    return pRetry(
      async () => {
        if (failed) {
          const { error } = failed;
          failed = undefined;
          throw error;
        }
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
      retryPolicy((attempt, message) => this.onEvent?.({ kind: 'retry', host: this.host, attempt, error: `${what}: ${message}` })),
    );
  }

  get host(): string {
    return this.transport.label;
  }

  /** What the operation modules use of this queue (src/remote/call.ts). */
  private get calls(): QueueCalls {
    return {
      host: this.host,
      path: this.path,
      inline: this.transport.session !== undefined,
      onEvent: this.onEvent,
      transport: this.transport,
      call: (command, args, options) => this.call(command, args, options),
      retrying: (what, fn) => this.retrying(what, fn),
    };
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
    const failure = runFailure(r, this.host, what);
    if (failure) throw failure;
    return r;
  }

  /** Runs one helper; handles first-use setup and helper upgrades, then maps failures to errors. */
  async call(command: string, args: Arg[], options: CallOptions = {}): Promise<CallResult> {
    const what = `tej-remote ${command} ${args.map((a) => (typeof a === 'string' ? a : a.path)).join(' ')}`.trim();
    const fast = await this.sessionCalls.call(command, args, options, what);
    if (fast) {
      if (fast.code === null) throw new ConnectionError(`connection to ${this.host} broke during '${what}'`);
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
        if (attempt > 0 || !(options.autoSetup ?? command === 'submit')) throw noQueueError(this.path, this.host);
        this.onEvent?.({ kind: 'setup', host: this.host, queue: this.path, reason: 'first use' });
        await this.setup();
        continue;
      }
      const modified = [...text.matchAll(/^plugin_modified=(.+)$/gm)].map((m) => m[1]!);
      if (result.code === EXIT.UNAVAILABLE && modified.length > 0) throw modifiedPluginError(this.path, this.host, modified);
      if (result.code === EXIT.PROTOCOL && !options.stdout && text.includes('tej-proto=')) {
        const reply = parseReply(text, this.host);
        if (reply.proto > PROTO) throw newerQueueError(this.path, this.host, reply.proto);
        if (attempt > 0) throw remoteError(this.host, { command: what, code: result.code, stderr: result.stderr }, 'protocol mismatch');
        if (options.repair === false) throw new HelpersOutdatedError(`the tej helpers in ${this.path} on ${this.host} are to be installed again`);
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
    this.sessionCalls.forget(); // probe again after it
    return installHelpersVia(this.transport, (script, options, what) => this.run(script, options, what), this.path, this.host, force, this.onEvent);
  }

  async setup(options: SetupOptions = {}): Promise<SetupResult> {
    checkPluginName(options.plugin);
    // A bad plugin name or file fails before the host is touched.
    const own = options.pluginFile === undefined ? undefined : await readPluginFile(options.pluginFile, options.plugin);
    await this.install(options.force ?? false);
    if (own) this.ownPlugins = Promise.resolve(await installPlugin((script, o, what) => this.run(script, o, what), this.path, this.host, own.name, own.data));
    const args: Arg[] = [];
    if (options.plugin) args.push('--plugin', options.plugin);
    if (options.link) args.push('--link', { path: options.link });
    const { reply } = await this.call('setup', args, { autoSetup: false });
    return setupResult(reply!, this.path, options);
  }

  async submit(dir: string, options: SubmitOptions): Promise<SubmitResult> {
    return this.submitPrepared(prepareSubmission(dir, options));
  }

  /** Submits a job prepared by prepareSubmission (which may have run while this queue connected). */
  submitPrepared(prepared: PreparedSubmission | Promise<PreparedSubmission>): Promise<SubmitResult> {
    return submitPrepared(this.calls, prepared);
  }

  /** Status of several jobs in one request. A job that does not exist maps to undefined. */
  async statuses(ids: string[]): Promise<Map<string, JobStatus | undefined>> {
    ids.forEach((id) => checkJobId(id));
    const { reply } = await this.retrying('status', () => this.call('status', ids));
    return recordsById(reply!, ids, toJobStatus);
  }

  /**
   * Waits until the jobs have ended (or `timeout` seconds have passed), polling their status in one
   * request per round; `onUpdate` hears of each job's state as it changes, last when it has ended.
   */
  wait(ids: string[], options: WaitOptions = {}): Promise<WaitResult> {
    ids.forEach((id) => checkJobId(id));
    return waitForJobs((pending) => this.statuses(pending), ids, options);
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return (await this.statuses([id])).get(id);
  }

  async list(): Promise<JobStatus[]> {
    const { reply } = await this.retrying('list', () => this.call('list', []));
    return listedStatuses(reply!);
  }

  async kill(id: string, options: { grace?: number } = {}): Promise<KillResult> {
    checkJobId(id);
    const { reply } = await this.call('kill', options.grace === undefined ? [id] : [id, '--grace', String(options.grace)]);
    return killResult(reply!, id);
  }

  /** Deletes the job and everything it wrote; a running job only with `kill` (`grace`: as kill's). */
  async delete(id: string, options: { kill?: boolean; grace?: number } = {}): Promise<void> {
    checkJobId(id);
    const args = options.kill ? [id, '--kill'] : [id];
    if (options.grace !== undefined) args.push('--grace', String(options.grace));
    await this.call('delete', args);
  }

  /** Downloads each request (`path`, `path:`, `path:dest`); `stdout` receives the `path:` ones. */
  download(id: string, requests: string[], options: DownloadOptions): Promise<ExtractResult[]> {
    return download(this.calls, id, requests, options);
  }

  /** download --update/--watch, and downloads with patterns (src/download/watch.ts). */
  syncDownload(id: string, requests: string[], options: SyncOptions): Promise<SyncResult> {
    return syncDownload(this.calls, id, requests, options);
  }

  /** A job's files under `path` (relative to its work/), read over SFTP (src/job/ls.ts). */
  ls(id: string, path?: string): Promise<JobFileEntry[]> {
    return listJobFiles(this.transport, this.path, this.host, id, path);
  }

  /**
   * Full records (status, host, spec, submission record with git provenance) of several jobs, one
   * request. `brief` leaves out the submission record, which may hold a large git diff.
   */
  async show(ids: string[], options: { brief?: boolean } = {}): Promise<Map<string, JobRecord | undefined>> {
    ids.forEach((id) => checkJobId(id));
    const { reply } = await this.call('show', options.brief ? ['--brief', ...ids] : ids);
    return recordsById(reply!, ids, (r, now) => toJobRecord(r, reply!.header, now));
  }

  /**
   * Writes the job's stdout (or stderr) file to `out`; with `follow`, one remote loop goes on sending
   * what the job appends until it ends. The job is looked up first (a missing one is JobNotFoundError),
   * which also installs or upgrades the helpers before the stream starts.
   */
  async logs(id: string, out: Writable, options: { stderr?: boolean; follow?: boolean } = {}): Promise<void> {
    checkJobId(id);
    if (!(await this.status(id))) throw new JobNotFoundError(`no such job: ${id} (on ${this.host})`, { hint: `'tej list ${this.host}' shows the jobs` });
    return writeLogs(this.calls, id, out, options);
  }

  /**
   * Runs `argv` (a command and its arguments, each passed literally) where the job runs: in its directory
   * (work/) with its environment (tej.json `env` and the TEJ_ variables); inside a running Slurm job's
   * allocation. Resolves to the command's exit status (128+N when signal N killed it); stdout and stderr
   * go to `options.stdout` and `options.stderr` byte for byte, and `options.stdin` is its stdin. The job
   * is looked up first (a missing one is JobNotFoundError), which also installs or upgrades the helpers.
   */
  async exec(id: string, argv: readonly string[], options: ExecOptions = {}): Promise<number> {
    checkJobId(id);
    const args = execArgs(id, argv);
    await this.lookUpForExec(id);
    const what = `tej-remote exec ${args.join(' ')}`;
    const out = new AfterMarker(options.stdout, this.host);
    const err = new AfterMarker(options.stderr, this.host);
    this.onEvent?.({ kind: 'exec', host: this.host, command: what });
    const stdin = options.stdin;
    // No runFailure: a command that ends without reading all its stdin leaves a write error behind, which
    // is not a failure of the call.
    const r = await this.transport.run(await this.invocation('exec', args), {
      stdout: out,
      stderr: err,
      stdin: stdin ? () => stdin : undefined,
      stdinLive: true,
    });
    await Promise.all([out.flushed(), err.flushed()]);
    if (r.code === null) throw new ConnectionError(`connection to ${this.host} broke during '${what}'${r.signal ? ` (remote got ${r.signal})` : ''}`);
    const outcome = execOutcome(this.host, what, r.code, out, err);
    if (typeof outcome !== 'number') throw outcome;
    return outcome;
  }

  /** Local ports to the job's machine's until it ends or close() (src/job/forward-job.ts). */
  forward(id: string, ports: readonly (string | ForwardSpec)[], options: ForwardOptions = {}): Promise<ForwardHandle> {
    checkJobId(id);
    return forwardJob({ ...this.calls, status: (job) => this.status(job), transport: () => this.transport }, id, ports, options);
  }

  /** An interactive shell where the job runs, as `exec` runs a command (src/job/shell.ts): its exit status. */
  async shell(id: string, options: ShellOptions = {}): Promise<number> {
    checkJobId(id);
    const terminal = this.transport.terminal?.bind(this.transport);
    if (!terminal) throw new UsageError('tej shell needs a host: the local queue has no remote terminal to open', { hint: `the job's directory is ${this.path}/jobs/${id}/work` });
    await this.lookUpForExec(id);
    const what = `tej-remote exec --shell ${id}`;
    this.onEvent?.({ kind: 'exec', host: this.host, command: what });
    return runShell(terminal, this.host, what, await this.invocation('exec', ['--shell', id]), options);
  }

  /** The job exec and shell run in: there, past its submit. */
  private async lookUpForExec(id: string): Promise<void> {
    const status = await this.status(id);
    if (!status) throw new JobNotFoundError(`no such job: ${id} (on ${this.host})`, { hint: `'tej list ${this.host}' shows the jobs` });
    if (status.state === 'submitting') throw new JobRunningError(`job ${id} is still being submitted (on ${this.host})`, { hint: 'try again once it is queued' });
  }

  /** Runs a job again under `newId` from the inputs it was uploaded with (kept on the host as input.tar). */
  resubmit(id: string, newId: string): Promise<SubmitResult> {
    return resubmit(this.calls, id, newId);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

