import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { forEachId, type SelectArgs, selectIds, selectOptions } from '../select.js';
import { parseGrace } from './kill.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  kill: boolean;
  grace?: string;
}

export const deleteCommand: CommandModule<GlobalArgs, Args> = {
  command: 'delete [destination..]',
  describe: 'Remove a job and everything it wrote (refuses a running job unless --kill)',
  builder: (y) =>
    selectOptions(y)
      .option('kill', { type: 'boolean', default: false, describe: 'Kill the job first if it is running' })
      .option('grace', { type: 'string', describe: 'With --kill: seconds between TERM and KILL (default 10)' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    if (argv.grace !== undefined && !argv.kill) throw new UsageError('--grace goes with --kill', { hint: 'delete --kill --grace S kills a running job first, TERM then KILL after S seconds' });
    const grace = argv.grace === undefined ? undefined : parseGrace(argv.grace);
    await withQueue(destination, argv, async (q) => {
      const ids = await selectIds(q, argv);
      await forEachId(ids, argv.verbose, async (id) => {
        await q.delete(id, { kill: argv.kill, grace });
        if (argv.json) printJson({ id, deleted: true });
        else if (!argv.quiet) process.stderr.write(`tej: deleted ${id}\n`);
      });
    });
  },
};
