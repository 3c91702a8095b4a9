// A script run with /bin/sh on a pseudo-terminal of the host (tej shell). The login shell still gets
// the constant EXEC_COMMAND, and the script's line travels on stdin, which is the terminal now: the
// pty is asked for raw, without echo (RAW_MODES, applied by sshd before the login shell starts), so
// that the line reaches /bin/sh's `read` byte for byte (no line editing, no signal characters, no
// 4 KiB line limit, nothing echoed back). The helper sets the usual modes once the line is read
// (remote-scripts/commands/exec.sh, --shell); keystrokes are sent only from then on (`begin`).
import type { Readable, Writable } from 'node:stream';
import type { Client, ClientChannel, PseudoTtyOptions } from 'ssh2';
import { ConnectionError } from '../errors.js';
import { shLine } from './quote.js';
import { EXEC_COMMAND } from './remote-command.js';
import type { RunResult } from './transport.js';

/** The terminal's size, and its changes: process.stdout on a terminal is one. */
export interface TerminalWindow {
  readonly rows: number;
  readonly columns: number;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

export interface TerminalOptions {
  /** TERM on the host. */
  term: string;
  /** Its size, followed as it changes; without one, 24x80. */
  window?: TerminalWindow;
  /** Where everything the terminal prints goes (one stream: stdout and stderr are the same terminal). */
  stdout: Writable;
  /** The keystrokes, sent as they come once `begin` has resolved. */
  stdin?: Readable;
  begin: Promise<void>;
}

/** Modes of the pty request (RFC 4254 8): raw input and output, no echo, until the helper sets its own. */
export const RAW_MODES: PseudoTtyOptions['modes'] = {
  ECHO: 0, ECHOE: 0, ECHOK: 0, ECHONL: 0, ICANON: 0, ISIG: 0, IEXTEN: 0,
  IXON: 0, IXOFF: 0, ICRNL: 0, INLCR: 0, IGNCR: 0, ISTRIP: 0, PARMRK: 0, INPCK: 0, OPOST: 0,
};

/** Runs `script` on a terminal of `client`'s host; resolves once the channel has closed. */
export function runOnTerminal(client: Client, label: string, script: string, o: TerminalOptions): Promise<RunResult> {
  const size = () => ({ rows: o.window?.rows || 24, cols: o.window?.columns || 80 });
  const pty: PseudoTtyOptions = { term: o.term, ...size(), width: 0, height: 0, modes: RAW_MODES };
  return new Promise((resolve, reject) => {
    client.exec(EXEC_COMMAND, { pty }, (err: Error | undefined, channel: ClientChannel) => {
      if (err) return reject(new ConnectionError(`cannot open a terminal on ${label}: ${err.message}`, { cause: err }));
      let exit: { code: number | null; signal?: string } = { code: null };
      channel.on('exit', (code: number | null, signal?: string) => (exit = { code, signal: signal ?? undefined }));
      channel.on('data', (d: Buffer) => {
        if (!o.stdout.write(d)) {
          channel.pause();
          o.stdout.once('drain', () => channel.resume());
        }
      });
      channel.stderr.resume(); // a pty has one stream; nothing comes here
      const resized = () => {
        const { rows, cols } = size();
        channel.setWindow(rows, cols, 0, 0);
      };
      const typed = (d: Buffer) => {
        if (!channel.write(d)) o.stdin?.pause();
      };
      const drained = () => o.stdin?.resume();
      let closed = false;
      o.begin.then(() => {
        if (closed) return;
        o.window?.on('resize', resized);
        // the size may have changed while the helper looked the job up
        resized();
        channel.on('drain', drained);
        o.stdin?.on('data', typed);
        o.stdin?.resume();
      }, () => undefined);
      channel.write(`${shLine(script)}\n`);
      channel.on('close', () => {
        closed = true;
        o.window?.off('resize', resized);
        o.stdin?.off('data', typed);
        o.stdin?.pause();
        resolve({ ...exit, stdout: Buffer.alloc(0), stderr: '' });
      });
    });
  });
}
