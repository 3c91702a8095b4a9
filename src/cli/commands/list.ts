import type { CommandModule } from 'yargs';
import { formatDuration } from '../../job/status.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { statusJson } from './status.js';

interface Args extends GlobalArgs {
  destination?: string[];
}

export const listCommand: CommandModule<GlobalArgs, Args> = {
  command: 'list [destination..]',
  describe: 'List the jobs of the queue: id, state, start, duration',
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const jobs = await withQueue(destination, argv, (q) => q.list());
    for (const j of jobs) {
      if (argv.json) printJson(statusJson(j.id, j));
      else {
        const start = j.start ? j.start.toISOString().replace('T', ' ').slice(0, 19) : '-';
        const state = j.state === 'finished' ? `finished(${j.exitCode ?? '?'})` : j.state;
        process.stdout.write(`${j.id}\t${state}\t${start}\t${j.elapsed !== undefined ? formatDuration(j.elapsed) : '-'}\n`);
      }
    }
  },
};
