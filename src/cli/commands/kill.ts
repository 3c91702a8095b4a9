import type { CommandModule } from 'yargs';
import { type GlobalArgs, requireIds, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string[];
  grace?: number;
}

export const killCommand: CommandModule<GlobalArgs, Args> = {
  command: 'kill [destination..]',
  describe: "Stop a job and all its processes (TERM, then KILL after a grace period)",
  builder: (y) =>
    y
      .option('id', { type: 'string', array: true, describe: 'Job id (repeatable)' })
      .option('grace', { type: 'number', describe: 'Seconds between TERM and KILL (default 10)' }) as never,
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const ids = requireIds(argv.id);
    await withQueue(destination, argv, async (q) => {
      for (const id of ids) {
        const r = await q.kill(id, { grace: argv.grace });
        if (argv.json) printJson({ id: r.id, previous_state: r.previousState, state: r.state });
        else if (r.previousState === 'running' || r.previousState === 'queued' || r.previousState === 'submitting') process.stdout.write(`${id}: killed\n`);
        else process.stdout.write(`${id}: not running (already ${r.previousState})\n`);
      }
    });
  },
};
