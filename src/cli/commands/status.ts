import type { CommandModule } from 'yargs';
import { describeStatus, statusExit } from '../../job/status.js';
import { jobOutput } from '../../job/output.js';
import { summarizeTasks, tasksOf } from '../../job/array.js';
import { postPendingWebhooks } from '../../job/notify-post.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printable } from '../render.js';
import { type SelectArgs, selectJobs, selectOptions } from '../select.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
}

export const statusCommand: CommandModule<GlobalArgs, Args> = {
  command: 'status [destination..]',
  describe: 'Show the state of jobs; the exit code tells the state',
  builder: (y) => selectOptions(y),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const { ids, statuses } = await withQueue(destination, argv, async (q) => {
      const { ids, listed } = await selectJobs(q, argv);
      const statuses = listed ?? (await q.statuses(ids));
      // a webhook the host could not post (no curl or wget there) is posted by this client, once
      await postPendingWebhooks(q, statuses, argv.quiet);
      return { ids, statuses };
    });
    let exit = 0;
    // One write for all the lines: a write each cost more than the rest of the rendering (4000 jobs).
    const out: string[] = [];
    for (const id of ids) {
      const s = statuses.get(id);
      // An array: the host answered with its tasks: a summary line, or one JSON object per task.
      const tasks = s ? [] : tasksOf(id, statuses);
      if (tasks.length) {
        for (const [tid, t] of tasks) {
          exit = Math.max(exit, statusExit(t));
          if (argv.json) out.push(`${JSON.stringify(jobOutput(tid, t))}\n`);
        }
        if (!argv.json) {
          const line = summarizeTasks(tasks.map(([, t]) => t!));
          out.push(ids.length > 1 ? `${id}\t${line}\n` : `${line}\n`);
        }
        continue;
      }
      exit = Math.max(exit, statusExit(s));
      if (argv.json) out.push(`${JSON.stringify(jobOutput(id, s))}\n`);
      else out.push(ids.length > 1 ? `${id}\t${printable(describeStatus(s))}\n` : `${printable(describeStatus(s))}\n`);
    }
    process.stdout.write(out.join(''));
    process.exitCode = exit;
  },
};
