import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string[];
  '--'?: (string | number)[];
}

const HINT = 'tej exec [DEST] --id ID -- COMMAND [ARGS...]';

export const execCommand: CommandModule<GlobalArgs, Args> = {
  command: 'exec [destination..]',
  describe: "Run one command where a job runs (its directory, its environment; inside a running Slurm job's allocation), after --",
  builder: (y) =>
    y
      // everything after -- is the command, word for word (not parsed as options or numbers)
      .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false })
      .option('id', { type: 'string', array: true, describe: 'Job id' })
      .example('$0 exec hpc --id train -- nvidia-smi', "the GPUs of the job's node, as the job sees them"),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const ids = (argv.id ?? []).map(String);
    if (ids.length !== 1) throw new UsageError('exec takes exactly one --id', { hint: HINT });
    const command = (argv['--'] ?? []).map(String);
    if (command.length === 0) throw new UsageError('exec needs a command after --', { hint: HINT });
    const stdin = process.stdin;
    try {
      process.exitCode = await withQueue(destination, argv, (q) => q.exec(ids[0]!, command, { stdin, stdout: process.stdout, stderr: process.stderr }));
    } finally {
      // The command may end without reading its stdin (a terminal's, still open): it must not keep tej up.
      stdin.destroy();
    }
  },
};
