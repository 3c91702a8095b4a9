// Runs the built tej CLI as a user would: a separate process, its own HOME, stdout/stderr/exit code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export { waitFor };

export const TEJ_BIN = fileURLToPath(new URL('../../bin/tej.js', import.meta.url));

export interface TejRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TejRunOptions {
  home: string;
  cwd?: string;
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Another copy of tej's bin/tej.js to run. @default TEJ_BIN */
  bin?: string;
}

export function tej(args: string[], o: TejRunOptions): Promise<TejRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [o.bin ?? TEJ_BIN, ...args], {
      cwd: o.cwd ?? o.home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A tej CLI process still running: the test reacts to what it prints instead of waiting some time. */
export interface RunningTej {
  child: ReturnType<typeof spawn>;
  done: Promise<TejRun>;
  /** What it printed so far. */
  readonly out: { readonly stdout: string; readonly stderr: string };
  /** Resolves once stderr (everything so far) matches; rejects if the process ends first. */
  stderrMatches(re: RegExp): Promise<void>;
  /** Resolves once stdout (everything so far) matches; rejects if the process ends first. */
  stdoutMatches(re: RegExp): Promise<void>;
}

export function startTej(args: string[], o: TejRunOptions): RunningTej {
  const child = spawn(process.execPath, [TEJ_BIN, ...args], {
    cwd: o.cwd ?? o.home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const watchers: { stream: keyof typeof out; re: RegExp; resolve: () => void }[] = [];
  const collect = (stream: keyof typeof out) => (d: Buffer) => {
    out[stream] += d;
    for (const w of watchers.filter((x) => x.stream === stream && x.re.test(out[stream]))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.on('data', collect('stdout'));
  child.stderr!.on('data', collect('stderr'));
  const done = new Promise<TejRun>((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  const matches = (stream: keyof typeof out) => (re: RegExp) =>
    re.test(out[stream])
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          watchers.push({ stream, re, resolve });
          void done.then((r) => reject(new Error(`tej ended (exit ${r.code}) before its ${stream} matched ${re}:\n${r.stdout}${r.stderr}`)));
        });
  return { child, done, out, stderrMatches: matches('stderr'), stdoutMatches: matches('stdout') };
}

/** Asserts that a run succeeded and returns its stdout; the message shows all of it when it did not. */
export function ok(r: TejRun): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/**
 * A pgrep -f pattern for the host's shell of a channel (src/transport/remote-command.ts EXEC_COMMAND):
 * the helper program runs in it, so a command that stays (logs -f, a submit reading its upload) is that
 * process. The brackets keep a shell that runs pgrep with this pattern in its own command line from
 * matching itself.
 */
export const CHANNEL_SHELL = '[I]FS= read -r l && eval';

/** Writes a job directory from a map of relative path -> content (a string, or [content, mode]). */
export async function makeJob(dir: string, files: Record<string, string | [string, number]>): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  for (const [path, spec] of Object.entries(files)) {
    const [content, mode] = Array.isArray(spec) ? spec : [spec, 0o644];
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content, { mode });
  }
  return dir;
}
