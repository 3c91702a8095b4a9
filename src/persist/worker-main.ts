// Entry of a --persist master's worker (bin/tej.js __persist-worker): a CLI process started ahead of
// time, with every module loaded, that runs commands from its master (src/persist/workers.ts) one at a
// time, each as `tej` would have: the client's argv, environment, working directory and terminal. Its
// output to the master is framed (worker-output.ts); stdin is not used (no command reads it: prompts
// cannot happen here, the master's connection is up). After a command that may leave state behind
// (REUSED), or one that left a handle open, it exits, and the master starts another.
import { forgetUserConfig } from '../cli/context.js';
import { onInterrupt } from '../cli/interrupt.js';
import { runCli, warmCli } from '../cli/run.js';
import { EXIT } from '../errors.js';
import { loadBundle } from '../remote/bundle.js';
import { sessionLoadHash } from '../remote/session.js';
import { servedBy } from './start.js';
import { beginOutput, endOutput } from './worker-output.js';
import type { WorkerRequest } from './workers.js';

/**
 * Commands after which the worker serves the next one: they read and print, and keep nothing between
 * runs but the caches this file resets. The others (submit, download, setup, ...) get a fresh worker.
 */
const REUSED = new Set(['status', 'list', 'show', 'wait', 'kill', 'delete', 'logs']);

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The process's open handles and timers by kind: a command that leaves more than it found (a socket, a
 * timer that would fire during the next command) is not followed by another.
 */
const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').sort().join(',');

async function runOne(m: WorkerRequest): Promise<boolean> {
  const before = handles();
  const listeners = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, m.env);
  process.argv = [process.argv[0]!, process.argv[1]!, ...m.argv];
  process.exitCode = undefined;
  forgetUserConfig();
  onInterrupt(undefined);
  servedBy(m.master);
  beginOutput(m.tty);
  try {
    process.chdir(m.cwd);
  } catch (e) {
    process.stderr.write(`tej: cannot enter the working directory ${m.cwd}: ${(e as Error).message}\n`);
    endOutput(EXIT.NOINPUT);
    return true;
  }
  await runCli(m.argv);
  const code = Number(process.exitCode ?? 0);
  endOutput(code);
  // The command's own signal handlers (runCli's) go with it: an idle worker dies of a late Ctrl-C.
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!listeners.get(s)!.includes(l)) process.removeListener(s, l);
  if (!REUSED.has(m.argv[0] ?? '')) return false;
  // What the command opened (its channels to the master) closes within a few turns of the event loop;
  // the client has its EXIT already, so this waits on no one. Still open after ~0.4 s: not reused.
  for (let turn = 0; turn < 50 && handles() !== before; turn++) await new Promise((r) => setTimeout(r, turn < 10 ? 0 : 10));
  return handles() === before;
}

// Without a master (it exited or was killed) there is nothing to wait for.
process.on('disconnect', () => process.exit(0));
process.on('message', (m: WorkerRequest) => {
  void runOne(m).then(
    (again) => (again ? process.send?.({ type: 'ready' }) : process.exit()),
    () => process.exit(EXIT.SOFTWARE),
  );
});
// What a command through a master loads on first use, loaded before the command comes. (Not ssh2 or
// ajv: a transport over the master never loads ssh2, and ajv only reads a config file; each would
// cost every worker more than it saves the few commands that use them.) The helper bundle too, and the
// hash of its load script, which the first call compares with the warm shell's: reading the helpers
// and hashing the program took 8-10 ms of every command's time (a CPU profile of a worker).
const warmBundle = loadBundle().then((b) => void sessionLoadHash(b));
await Promise.all([import('../transport/ssh.js'), import('./start.js'), import('./client.js'), warmCli(), warmBundle]);
process.send?.({ type: 'ready' });
