// The lean client (bin/tej.js, with --persist or TEJ_PERSIST): when a master for the destination as
// typed is running, the command runs in the master's worker (workers.ts), and this process only sends
// its argv, environment, working directory and terminal, then relays the output, the signals and the
// exit code. It loads neither yargs nor ssh2 nor the commands (the cost of a command through a master
// was mostly that). Whatever it cannot tell for sure (no master, another tej, an unusual command line)
// it leaves to the full CLI, before anything has run: the result is then the same, only slower.
import { lstatSync, readFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../errors.js';
import { aliasPath } from './alias.js';
import { encodeFrame, FRAME, FrameDecoder } from './frame.js';
import type { Request } from './master.js';

/** The package this file is in (dist/persist/ or dist/bundle/, two levels down), as package-root.ts finds it. */
function packageRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
}

/** Commands that run on a destination; others (disconnect, schema, completion, help) are the full CLI's. */
const HOST_COMMANDS = new Set(['setup', 'submit', 'status', 'download', 'kill', 'delete', 'list', 'wait', 'logs', 'show', 'resubmit']);
const OFF = new Set(['off', 'no', 'false', '0']);
// as cli/persist.ts: what a bare --persist may take as its value
const DURATION_WORD = /^(([0-9]+[smhd]?)+|([0-9]+-)?([0-9]+:)?[0-9]+:[0-9]+|on|off|yes|no|true|false)$/i;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** --persist's value (the flag wins over TEJ_PERSIST), or undefined when neither says. */
function persistValue(args: string[], env: NodeJS.ProcessEnv): string | undefined {
  const end = args.indexOf('--');
  const flags = end < 0 ? args : args.slice(0, end);
  for (let i = flags.length - 1; i >= 0; i--) {
    const a = flags[i]!;
    if (a.startsWith('--persist=')) return a.slice('--persist='.length);
    if (a === '--persist') return DURATION_WORD.test(flags[i + 1] ?? '') ? flags[i + 1] : 'on';
  }
  return env.TEJ_PERSIST || undefined;
}

/** The alias socket to try, or undefined when this command line is left to the full CLI. */
export function leanAlias(args: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const [command, destination] = args;
  if (!command || !HOST_COMMANDS.has(command) || !destination || destination.startsWith('-') || destination === 'local') return undefined;
  if (args.some((a) => a === '--help' || a === '-h' || a === '--version')) return undefined;
  // submit --forward listens here, on a connection of its own (a master carries no TCP channels)
  if (args.some((a) => a === '--forward' || a.startsWith('--forward='))) return undefined;
  const persist = persistValue(args, env);
  if (persist === undefined || OFF.has(persist.trim().toLowerCase())) return undefined;
  // The directory's checks are paths.ts socketDir's; anything amiss is for the full CLI to explain.
  const xdg = env.XDG_RUNTIME_DIR;
  const dir = xdg && isAbsolute(xdg) ? join(xdg, 'tej') : join(tmpdir(), `tej-${process.getuid?.() ?? 'user'}`);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return undefined;
  return aliasPath(dir, destination);
}

/**
 * Whether output to fd 1 and 2 is written with writeSync rather than process.stdout and stderr: making
 * those streams cost this process 2-3 ms (of a 40 ms command), and a blocking write is their backpressure.
 */
const direct = { 1: true, 2: true };
const outTty = isatty(1);
const errTty = isatty(2);

/**
 * Writes DATA to FD whole; undefined once written, or what is left when FD is non-blocking (EAGAIN: the
 * stream then takes it, with its backpressure). A reader that stopped early (`tej logs -f | head`) ends
 * tej quietly, as main.ts does; one that stopped reading stderr loses what was for it.
 */
function writeDirect(fd: 1 | 2, data: Buffer): Buffer | undefined {
  let at = 0;
  try {
    while (at < data.length) at += writeSync(fd, data, at);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return data.subarray(at);
    if (code !== 'EPIPE') throw e;
    if (fd === 1) process.exit(0);
    return undefined;
  }
}

/** process.stdout or stderr, made on first use, stdout's EPIPE ending tej quietly as writeDirect's does. */
function stream(fd: 1 | 2): NodeJS.WriteStream {
  if (fd === 2) return process.stderr;
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(0);
    });
  }
  return process.stdout;
}

/** Runs the command through a master's worker; false (nothing run, nothing printed) to use the full CLI. */
export function runThroughMaster(args: string[]): Promise<boolean> {
  const path = leanAlias(args);
  if (!path) return Promise.resolve(false);
  return new Promise((resolve) => {
    // Connecting first: the request is made while the connection is under way.
    const sock = connect(path);
    const root = packageRoot();
    // package-root.ts and version.ts cost this process more than the rest of it (the CommonJS loader)
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const decoder = new FrameDecoder();
    let opened = false;
    let exited = false;
    const request: Request = {
      op: 'run',
      version,
      root,
      argv: args,
      env: process.env as Record<string, string>,
      cwd: process.cwd(),
      tty: { stdout: outTty, stderr: errTty, columns: outTty ? process.stdout.columns : errTty ? process.stderr.columns : undefined },
    };
    // queued by the socket until it is connected (a refused one ends in 'close', unopened)
    sock.write(`${JSON.stringify(request)}\n`);
    const write = (fd: 1 | 2, data: Buffer) => {
      const rest = direct[fd] ? writeDirect(fd, data) : data;
      if (rest === undefined) return;
      direct[fd] = false; // in order from now on: what is left, and all after it, through the stream
      const out = stream(fd);
      if (!out.write(rest)) {
        sock.pause();
        out.once('drain', () => sock.resume());
      }
    };
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        if (!opened) {
          if (f.type !== FRAME.OPENED) return sock.destroy(); // FRAME.ERROR: refused before anything ran
          opened = true;
          for (const s of SIGNALS) process.on(s, () => sock.write(encodeFrame(FRAME.SIGNAL, s)));
        } else if (f.type === FRAME.STDOUT) write(1, f.payload);
        else if (f.type === FRAME.STDERR) write(2, f.payload);
        else if (f.type === FRAME.EXIT) {
          exited = true;
          process.exitCode = (JSON.parse(f.payload.toString()) as { code: number }).code;
          // The master ends its side after EXIT: nothing is left to read or say. All the output written
          // with writeSync: done now (the socket's close took another turn of the loop, 0.7 ms); else
          // what a stream still holds keeps the process until it is written.
          if (direct[1] && direct[2]) process.exit();
          sock.destroy();
        } else if (f.type === FRAME.ERROR) sock.destroy();
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (!opened) return resolve(false);
      if (!exited) {
        process.stderr.write('tej: the persistent connection master ended during the command; it may have run in part\n');
        process.exitCode = EXIT.TEMPFAIL;
      }
      resolve(true);
    });
  });
}
