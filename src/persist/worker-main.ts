// Entry of a --persist master's worker (bin/tej.js __persist-worker): a CLI process started ahead of
// time, with every module loaded, that waits for one command from its master (src/persist/workers.ts)
// and runs it as `tej` would have: the client's argv, environment, working directory and terminal.
// Its stdout and stderr are pipes the master relays to the client; stdin is not used (no command reads
// it: prompts cannot happen here, the master's connection is up).
import { EXIT } from '../errors.js';
import { runCli, warmCli } from '../cli/run.js';
import { loadBundle } from '../remote/bundle.js';
import { sessionLoadHash } from '../remote/session.js';
import { servedBy } from './start.js';
import type { WorkerRequest } from './workers.js';

/** Says, to code that asks, that stdout or stderr is the client's terminal, as wide as it is. */
function likeTerminal(stream: NodeJS.WriteStream, columns: number | undefined): void {
  Object.defineProperty(stream, 'isTTY', { value: true, configurable: true });
  if (columns) Object.defineProperty(stream, 'columns', { value: columns, configurable: true });
}

// Without a master (it exited or was killed) there is nothing to wait for.
process.once('disconnect', () => process.exit(0));
process.once('message', (m: WorkerRequest) => {
  process.removeAllListeners('disconnect');
  process.disconnect();
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, m.env);
  if (m.tty.stdout) likeTerminal(process.stdout, m.tty.columns);
  if (m.tty.stderr) likeTerminal(process.stderr, m.tty.columns);
  process.argv = [process.argv[0]!, process.argv[1]!, ...m.argv];
  servedBy(m.master);
  try {
    process.chdir(m.cwd);
  } catch (e) {
    process.stderr.write(`tej: cannot enter the working directory ${m.cwd}: ${(e as Error).message}\n`);
    process.exitCode = EXIT.NOINPUT;
    return;
  }
  // Ended when the command has: what is left (closing the channels to the master) is not waited for.
  void runCli(m.argv).then(() => process.exit());
});
// What a command through a master loads on first use, loaded before the command comes. (Not ssh2 or
// ajv: a transport over the master never loads ssh2, and ajv only reads a config file; each would
// cost every worker more than it saves the few commands that use them.) The helper bundle too, and the
// hash of its load script, which the first call compares with the warm shell's: reading the helpers
// and hashing the program took 8-10 ms of every command's time (a CPU profile of a worker).
const warmBundle = loadBundle().then((b) => void sessionLoadHash(b));
await Promise.all([import('../transport/ssh.js'), import('./start.js'), import('./client.js'), warmCli(), warmBundle]);
process.send?.({ type: 'ready' });
