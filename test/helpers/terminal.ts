// The built tej CLI on a real pseudo-terminal (test/helpers/pty-drive.py, python3's pty module: no
// node-pty), for `tej shell`: the test types, waits for what the terminal shows, and resizes it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEJ_BIN, type TejRunOptions } from './cli.js';

const DRIVER = fileURLToPath(new URL('./pty-drive.py', import.meta.url));

export interface TerminalTej {
  /** Types `text` on the terminal. */
  type(text: string): void;
  /** Gives the terminal a new size (tej gets SIGWINCH). */
  resize(rows: number, cols: number): void;
  /** Resolves with what the terminal showed since the last match once it matches `re`; rejects if tej ends first. */
  shows(re: RegExp): Promise<string>;
  /** Closes the terminal at once, as a closed terminal window does (tej gets SIGHUP). */
  hangUp(): void;
  /** tej's exit status and everything the terminal showed. */
  done: Promise<{ code: number | null; screen: string }>;
}

export function tejOnTerminal(args: string[], o: TejRunOptions & { rows?: number; cols?: number }): TerminalTej {
  const child = spawn('python3', [DRIVER, String(o.rows ?? 24), String(o.cols ?? 80), process.execPath, TEJ_BIN, ...args], {
    cwd: o.cwd ?? o.home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', TERM: 'xterm', ...o.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let screen = '';
  let seen = 0; // what an earlier shows() matched is not matched again
  let waiter: { re: RegExp; resolve: (s: string) => void } | undefined;
  const check = () => {
    if (!waiter) return;
    const fresh = screen.slice(seen);
    const m = waiter.re.exec(fresh);
    if (!m) return;
    seen += m.index + m[0].length;
    const w = waiter;
    waiter = undefined;
    w.resolve(fresh.slice(0, m.index + m[0].length));
  };
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    check();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
  const done = new Promise<{ code: number | null; screen: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    }),
  );
  const send = (request: object) => child.stdin.write(`${JSON.stringify(request)}\n`);
  return {
    type: (text) => send({ send: text }),
    resize: (rows, cols) => send({ resize: [rows, cols] }),
    shows: (re) =>
      new Promise((resolve, reject) => {
        waiter = { re, resolve };
        check();
        void done.then((r) => reject(new Error(`tej ended (exit ${r.code}) before the terminal showed ${re}:\n${r.screen}`)));
      }),
    hangUp: () => child.kill('SIGKILL'),
    done,
  };
}
