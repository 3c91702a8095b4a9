// The shell operation: an interactive shell on a terminal where a job runs (exec.sh --shell), as exec
// runs a command there: its work/, its environment, inside a running Slurm job's allocation; the
// account's login shell, else /bin/sh. The terminal has one stream: what precedes the stream marker
// there is the helper's (a refusal, a login banner), everything after it the shell's. The keystrokes
// (a local terminal's in raw mode, which the CLI sets in onStart) go only to the shell.
import type { Readable, Writable } from 'node:stream';
import { ConnectionError } from '../errors.js';
import type { TerminalOptions, TerminalWindow } from '../transport/terminal.js';
import type { RunResult } from '../transport/transport.js';
import { AfterMarker, execOutcome } from './exec.js';

export type { TerminalWindow };

export interface ShellOptions {
  /** The keystrokes; without it the shell reads nothing (and ends when told to by a signal). */
  stdin?: Readable;
  /** What the terminal shows; without it, dropped. */
  stdout?: Writable;
  /** TERM on the host. @default 'xterm' */
  term?: string;
  /** The local terminal's size, followed as it changes (process.stdout on a terminal). @default 24x80 */
  window?: TerminalWindow;
  /** Called when the shell starts, before a keystroke is sent: the time to put a terminal in raw mode. */
  onStart?: () => void;
}

export async function runShell(
  terminal: (script: string, options: TerminalOptions) => Promise<RunResult>,
  host: string,
  what: string,
  script: string,
  options: ShellOptions,
): Promise<number> {
  const out = new AfterMarker(options.stdout, host);
  const begin = new Promise<void>((resolve) => out.once('marker', resolve)).then(() => options.onStart?.());
  const r = await terminal(script, { term: options.term || 'xterm', window: options.window, stdout: out, stdin: options.stdin, begin });
  await out.flushed();
  if (r.code === null) throw new ConnectionError(`connection to ${host} broke during '${what}'${r.signal ? ` (remote got ${r.signal})` : ''}`);
  // A refusal came on the terminal too: its text is what preceded the marker.
  const outcome = execOutcome(host, what, r.code, out, out);
  if (typeof outcome !== 'number') throw outcome;
  return outcome;
}
