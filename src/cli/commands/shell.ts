import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string[];
}

const HINT = 'tej shell [DEST] --id ID';

export const shellCommand: CommandModule<GlobalArgs, Args> = {
  command: 'shell [destination..]',
  describe: "An interactive shell where a job runs (its directory, its environment; inside a running Slurm job's allocation)",
  builder: (y) =>
    y
      .option('id', { type: 'string', array: true, describe: 'Job id' })
      .example('$0 shell hpc --id train', "a shell on the job's node, in its directory"),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const ids = (argv.id ?? []).map(String);
    if (ids.length !== 1) throw new UsageError('shell takes exactly one --id', { hint: HINT });
    const stdin = process.stdin;
    if (!stdin.isTTY) {
      throw new UsageError('tej shell needs a terminal: its stdin is not one', { hint: 'to run commands without a terminal, use tej exec [DEST] --id ID -- COMMAND [ARGS...]' });
    }
    // Raw from the shell's start (Ctrl-C is a byte for the remote terminal), and cooked again on any
    // way out, an exit by a signal included.
    const cooked = () => stdin.setRawMode(false);
    process.once('exit', cooked);
    try {
      // A --persist master relays no terminal: the shell always has a connection of its own.
      process.exitCode = await withQueue(destination, { ...argv, persist: 'off' }, (q) =>
        q.shell(ids[0]!, {
          stdin,
          stdout: process.stdout,
          term: process.env.TERM,
          window: process.stdout.isTTY ? process.stdout : undefined,
          onStart: () => stdin.setRawMode(true),
        }),
      );
    } finally {
      cooked();
      process.off('exit', cooked);
      stdin.destroy();
    }
  },
};
