// One long-lived remote `/bin/sh` that runs request after request: an exec costs sshd a fork of a new
// session (~50 ms), a request on a running shell about a millisecond.
//
// Framing: each request is written to the shell's stdin as one line,
//   ( eval '<script>' ) </dev/null; s=$?; printf '<MARK>%s\n' "$s"; printf '<MARK>\n' >&2
// where MARK is random per session (a script with newlines has them spelled "$NL", quote.ts shEvalLine).
// A subshell rather than `/bin/sh -c`: no exec, so no limit on the script's length (an argument is at
// most 128 KiB on Linux), and a script that cannot be parsed fails alone. The reply is everything on
// stdout before MARK (binary-safe: the
// script cannot know the mark, and its stdin is /dev/null so it cannot read the requests), the exit
// status after it, and stderr up to MARK on stderr. Login files may print banners before the shell
// starts: a first "ready" request with its own mark skips them on both streams.
//
// A load (load()) runs in the shell itself instead, so that the functions it defines stay for later
// requests: its script is first run whole in a subshell, and only one that got to its end (no syntax
// error, no exit) runs again in the shell; afterwards `set +eu` and the umask from before undo what it may
// have set. The session's reply framing is the same. A request of runHere() runs in the shell itself
// too, `{ eval '<script>'; } </dev/null 2>/dev/null`: no fork, for the functions of the load that are
// written to leave the shell as they found it. Those put their reply in $tej_here, which goes out with
// the stdout mark in one printf, and say nothing on stderr (no stderr mark): one write, so one packet
// of the channel for the whole call, where a reply printed piece by piece and two marks took five, each
// a wake-up and a decryption for the client (without ssh2's binding, a cipher made per packet).
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { ConnectionError } from '../errors.js';
import { Inbox } from './inbox.js';
import { shEvalLine, shLine, shQuote } from './quote.js';
import type { RunResult } from './transport.js';

const EMPTY = Buffer.alloc(0);

/** What a --persist master's warm shell holds (src/persist/warm-shell.ts). */
export interface Preloaded {
  /** The sha256 of the load script it ran. */
  loaded: string;
  /** The session probe's output for `queue` (src/remote/session.ts probeScript), run after the load. */
  probe?: { queue: string; stdout: string };
}

/**
 * How many pipelined requests (run with `pipelined`) may be on their way to the shell at once: the next
 * is written while the one before runs, so that the shell finds it there when it is done, instead of
 * waiting a round trip (and, on a loaded client, for the client's turn on a CPU) for it.
 */
export const PIPELINE_DEPTH = 2;

/** A shell's stdin that can give the shell back instead of ending it (a --persist master's channel). */
export interface Releasable {
  release(): void;
}

interface Pending {
  script: string;
  /** May be written while other pipelined requests run (PIPELINE_DEPTH). */
  pipelined?: boolean;
  /** A load (`load`), or a request run in the shell itself (`runHere`). */
  where?: 'load' | 'here';
  /** Called once the request has been written to the shell's stdin (not while it waits its turn). */
  onWritten?: () => void;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

export class ShellSession {
  private readonly mark: Buffer;
  private readonly readyMark: Buffer;
  private readonly out = new Inbox();
  private readonly err = new Inbox();
  private readonly queue: Pending[] = [];
  /** Written, in order, their replies not yet whole: the first is the one running. */
  private readonly inflight: (Pending & { stdout?: Buffer; status?: string; stderr?: Buffer })[] = [];
  private ready = false;
  /** Whether load() ran here: a preloaded shell then holds more than its master's load. */
  private loadedHere = false;
  private readyOut = false;
  private readyErr = false;
  private closed?: Error;
  private readonly token: string;
  /**
   * Set when the shell came loaded (a --persist master's warm shell): the sha256 of the load script it
   * ran, which Queue trusts only when it is its own's, and the master's probe of the default queue.
   */
  readonly preloaded?: Preloaded;

  /**
   * @param stdin   the remote shell's stdin
   * @param stdout  its stdout
   * @param stderr  its stderr
   * @param label   for messages: `alice@hpc`
   * @param preloaded  a --persist master's warm shell (src/persist/warm-shell.ts): what it loaded; the
   *                  master has read its banners and its replies, so it is ready at once
   */
  constructor(
    private readonly stdin: Writable,
    stdout: Readable,
    stderr: Readable,
    private readonly label: string,
    preloaded?: Preloaded,
  ) {
    const token = randomBytes(16).toString('hex');
    // The marks as printed; the requests spell them through printf's %s so that no request line holds
    // a mark verbatim (a shell that echoed its input could not fake one).
    this.mark = Buffer.from(`\x1etej-end-${token}:`);
    this.readyMark = Buffer.from(`\x1etej-ready-${token}\n`);
    stdout.on('data', (c: Buffer) => {
      this.out.push(c);
      this.pump();
    });
    stderr.on('data', (c: Buffer) => {
      this.err.push(c);
      this.pump();
    });
    const onEnd = () => this.fail(new ConnectionError(`the remote shell on ${label} ended`));
    stdout.on('close', onEnd);
    stdout.on('end', onEnd);
    stdin.on('error', (e: Error) => this.fail(new ConnectionError(`the remote shell on ${label} broke: ${e.message}`, { cause: e })));
    this.token = token;
    this.preloaded = preloaded;
    if (preloaded !== undefined) this.ready = true;
    else this.write(`printf '\\036tej-%s-%s\\n' ready ${token}; printf '\\036tej-%s-%s\\n' ready ${token} >&2\n`);
  }

  /**
   * Runs `script` in a subshell with stdin from /dev/null; one request at a time, in order. `onWritten`
   * is called when the request leaves for the host: before the shell is ready, or behind another
   * request, it waits here, and a client that exits meanwhile has sent nothing. A `pipelined` request
   * leaves as soon as the ones before it are pipelined too and fewer than PIPELINE_DEPTH: it still runs
   * after them, in order, and its reply is its own (the shell reads it only once they are done).
   */
  run(script: string, onWritten?: () => void, options: { pipelined?: boolean } = {}): Promise<RunResult> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ script, onWritten, pipelined: options.pipelined, resolve, reject });
      this.pump();
    });
  }

  /**
   * Runs `script` in the session's shell itself, where the functions and variables it defines stay for the
   * later requests; a script that does not parse or that exits fails alone (code 1) and defines nothing.
   * It should only define: its stdin is /dev/null, and `set -e`/`set -u`/umask are reset after it.
   */
  load(script: string): Promise<RunResult> {
    this.loadedHere = true;
    return this.request(script, 'load');
  }

  /**
   * Runs a one-line `script` in the session's shell itself, with stdin from /dev/null and no fork: a
   * subshell's fork costs more than the round trip. The script must be one whose every path is known:
   * no exit, no exec, no cd, nothing that fails under `set -e` or reads stdin (it would end or derail
   * the session); only a function of the load written for it (remote-scripts/lib/session.sh). Its reply
   * is what it prints then what it left in $tej_here; its stderr is dropped (the reply's stderr is '').
   */
  runHere(script: string): Promise<RunResult> {
    if (script.includes('\n')) return Promise.reject(new Error('runHere takes a one-line script'));
    return this.request(script, 'here');
  }

  private request(script: string, where: 'load' | 'here'): Promise<RunResult> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ script, where, resolve, reject });
      this.pump();
    });
  }

  /** Whether a request is running or waiting: one more would wait for them. */
  get busy(): boolean {
    return this.inflight.length > 0 || this.queue.length > 0;
  }

  /** Fails every waiting request; the session cannot be used afterwards. */
  fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    const waiting = [...this.inflight.splice(0), ...this.queue.splice(0)];
    for (const p of waiting) p.reject(error);
  }

  /**
   * Ends the shell; or, when it came preloaded from a --persist master and is as it came (idle between
   * requests, nothing loaded into it here, never failed), gives it back to the master for its next
   * client (src/persist/client.ts release, FRAME.RELEASE), which probes it again.
   */
  close(): void {
    const idle = this.preloaded !== undefined && !this.loadedHere && !this.closed && this.inflight.length === 0 && this.queue.length === 0;
    if (!this.closed) this.fail(new ConnectionError(`the remote shell on ${this.label} was closed`));
    const release = (this.stdin as Partial<Releasable>).release;
    if (idle && release) release.call(this.stdin);
    else this.stdin.end();
  }

  private write(text: string): void {
    this.stdin.write(text);
  }

  /** Whether NEXT may be written now: to an idle shell, or pipelined behind pipelined requests. */
  private mayWrite(next: Pending): boolean {
    if (this.inflight.length === 0) return true;
    return next.pipelined === true && this.inflight.length < PIPELINE_DEPTH && this.inflight.every((p) => p.pipelined);
  }

  private pump(): void {
    if (this.closed) return;
    if (!this.ready) {
      // Banners from login files come before the ready marks; drop them.
      if (!this.readyOut && this.out.take(this.readyMark) !== undefined) this.readyOut = true;
      if (!this.readyErr && this.err.take(this.readyMark) !== undefined) this.readyErr = true;
      this.ready = this.readyOut && this.readyErr;
      if (!this.ready) return;
    }
    for (;;) {
      while (this.queue.length > 0 && this.mayWrite(this.queue[0]!)) {
        const next = this.queue.shift()!;
        this.inflight.push(next);
        const t = this.token;
        if (next.where === 'here') {
          this.write(`tej_here=; { eval ${shQuote(next.script)}; } </dev/null 2>/dev/null; s=$?; printf '%s\\036tej-%s-%s:%s\\n' "$tej_here" end ${t} "$s"; tej_here=\n`);
        } else {
          const request = next.where === 'load' ? loadLine(next.script) : `( ${shEvalLine(next.script)} ) </dev/null`;
          this.write(`${request}; s=$?; printf '\\036tej-%s-%s:%s\\n' end ${t} "$s"; printf '\\036tej-%s-%s:\\n' end ${t} >&2\n`);
        }
        next.onWritten?.();
      }
      const c = this.inflight[0];
      if (!c) return;
      c.stdout ??= this.out.take(this.mark);
      if (c.stdout === undefined) return;
      c.status ??= this.out.line();
      if (c.status === undefined) return; // the mark is here, its status line not yet
      if (c.where === 'here') c.stderr ??= EMPTY;
      else {
        c.stderr ??= this.err.take(this.mark);
        if (c.stderr === undefined) return;
        this.err.line(); // the newline after the stderr mark
      }
      this.inflight.shift();
      const code = Number(c.status);
      c.resolve({ code: Number.isInteger(code) ? code : null, stdout: c.stdout, stderr: c.stderr.toString() });
    }
  }
}

/**
 * The line of a load: the script as one quoted word in tej_load, tried in a subshell (its output
 * dropped) that says `ok` after it, which a script that does not parse, exits or execs never reaches;
 * then run in the shell itself, with the umask put back after.
 */
function loadLine(script: string): string {
  const word = shLine(`tej_load=${shQuote(script)}`);
  return (
    `${word}; if test "$(eval "$tej_load" </dev/null >/dev/null 2>&1; echo ok)" = ok; then tej_load_umask=$(umask); ` +
    `eval "$tej_load" </dev/null; s=$?; set +eu; umask "$tej_load_umask"; unset tej_load; (exit "$s"); else unset tej_load; false; fi`
  );
}
