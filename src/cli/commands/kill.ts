import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { jobOutput } from '../../job/output.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { forEachId, type SelectArgs, selectIds, selectOptions } from '../select.js';

/** --grace: whole seconds, 0 to a day. */
export function parseGrace(value: unknown): number {
  const text = String(value);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 86400) {
    throw new UsageError(`bad --grace '${text}'`, { hint: 'give whole seconds between TERM and KILL, 0 to 86400 (e.g. --grace 30)' });
  }
  return Number(text);
}

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  grace?: string;
}

export const killCommand: CommandModule<GlobalArgs, Args> = {
  command: 'kill [destination..]',
  describe: "Stop a job and all its processes (TERM, then KILL after a grace period)",
  builder: (y) =>
    selectOptions(y)
      .option('grace', { type: 'string', describe: 'Seconds between TERM and KILL (default 10)' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const grace = argv.grace === undefined ? undefined : parseGrace(argv.grace);
    await withQueue(destination, argv, async (q) => {
      const ids = await selectIds(q, argv);
      await forEachId(ids, argv.verbose, async (id) => {
        const r = await q.kill(id, { grace });
        if (argv.json) printJson(jobOutput(id, (await q.status(id)) ?? undefined, { previous_state: r.previousState }));
        // "killed" only when this kill ended the job (the helper refuses a job still being submitted)
        else {
          const wasLive = r.previousState === 'running' || r.previousState === 'queued';
          if (wasLive && r.state === 'killed') process.stdout.write(`${id}: killed\n`);
          else process.stdout.write(`${id}: not running (already ${wasLive ? r.state : r.previousState})\n`);
        }
      });
    });
  },
};
