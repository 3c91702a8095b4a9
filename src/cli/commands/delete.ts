import type { CommandModule } from 'yargs';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { forEachId, type SelectArgs, selectIds, selectOptions } from '../select.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  kill: boolean;
}

export const deleteCommand: CommandModule<GlobalArgs, Args> = {
  command: 'delete [destination..]',
  describe: 'Remove a job and everything it wrote (refuses a running job unless --kill)',
  builder: (y) =>
    selectOptions(y)
      .option('kill', { type: 'boolean', default: false, describe: 'Kill the job first if it is running' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    await withQueue(destination, argv, async (q) => {
      const ids = await selectIds(q, argv);
      await forEachId(ids, argv.verbose, async (id) => {
        await q.delete(id, { kill: argv.kill });
        if (argv.json) printJson({ id, deleted: true });
        else if (!argv.quiet) process.stderr.write(`tej: deleted ${id}\n`);
      });
    });
  },
};
