import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string[];
  follow: boolean;
  stderr: boolean;
}

export const logsCommand: CommandModule<GlobalArgs, Args> = {
  command: 'logs [destination..]',
  describe: "Print a job's output (its stdout file, or --stderr); -f follows it until the job ends",
  builder: (y) =>
    y
      .option('id', { type: 'string', array: true, describe: 'Job id' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Go on printing what the job writes until it ends' })
      .option('stderr', { type: 'boolean', default: false, describe: "The job's stderr file instead of its stdout" }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const ids = (argv.id ?? []).map(String);
    if (ids.length !== 1) throw new UsageError('logs takes exactly one --id', { hint: 'tej logs HOST --id ID [-f] [--stderr]' });
    await withQueue(destination, argv, (q) => q.logs(ids[0]!, process.stdout, { stderr: argv.stderr, follow: argv.follow }));
  },
};
