import { randomBytes } from 'node:crypto';
import type { CommandModule } from 'yargs';
import { JobNotFoundError, UsageError } from '../../errors.js';
import { jobOutput } from '../../job/output.js';
import { checkNewJobId, TASK_ID_PATTERN } from '../../job/id.js';
import { isFailed } from '../../job/select.js';
import { expandArrays } from '../../job/array.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { type SelectArgs, selectIds, selectOptions } from '../select.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  failed: boolean;
  'new-id'?: string;
}

/** `<id>.r<random>`: a rerun of a rerun replaces the suffix instead of growing it. */
export function rerunId(id: string): string {
  const base = id.replace(/\.r[A-Za-z0-9]{6}$/, '').slice(0, 120).replace(/[._-]+$/, '');
  return `${base}.r${randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 6)}`;
}

export const resubmitCommand: CommandModule<GlobalArgs, Args> = {
  command: 'resubmit [destination..]',
  describe: 'Run jobs again under new ids, from the inputs they were uploaded with; prints the new ids',
  builder: (y) =>
    selectOptions(y)
      .option('failed', { type: 'boolean', default: false, describe: 'Only the failed jobs of the selection (non-zero exit, timeout, lost); without --id/--label: of the whole queue' })
      .option('new-id', { type: 'string', describe: 'Id of the new job (one job only; default <id>.r<random>)' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    await withQueue(destination, argv, async (q) => {
      const all = !argv.id?.length && !argv.label?.length;
      if (all && !argv.failed) throw new UsageError('name the jobs to resubmit', { hint: 'use --id ID (globs too), --label key=value, or --failed for every failed job' });
      let ids = all ? (await q.list()).map((s) => s.id) : await selectIds(q, argv);
      if (argv.failed) {
        const statuses = await q.statuses(ids);
        // an array: the host answered with its tasks, which are what runs again
        ids = expandArrays(ids, statuses);
        const failed = ids.filter((id) => {
          const s = statuses.get(id);
          return s !== undefined && isFailed(s);
        });
        // a failed job that was rerun already is not rerun again (its rerun is what to look at)
        ids = failed.filter((id) => statuses.get(id)?.rerunAs === undefined);
        const rerun = failed.length - ids.length;
        if (ids.length === 0) {
          throw new JobNotFoundError(`no failed job in the selection${rerun ? ` that was not rerun already (${rerun} was)` : ''} (on ${q.host})`, {
            hint: rerun ? "'tej resubmit --id ID' reruns a job again" : undefined,
          });
        }
      }
      if (argv['new-id'] !== undefined && ids.length !== 1) throw new UsageError(`--new-id names one job, the selection has ${ids.length}`);
      for (const id of ids) {
        // a task of an array runs again in its place (ID/N), from the array's upload
        const r = await q.resubmit(id, argv['new-id'] !== undefined ? checkNewJobId(argv['new-id']) : TASK_ID_PATTERN.test(id) ? id : rerunId(id));
        if (argv.json) printJson(jobOutput(r.id, { id: r.id, state: r.state, plugin: r.plugin, nativeId: r.nativeId }, { resubmitted_from: id }));
        else process.stdout.write(`${r.id}\n`);
      }
    });
  },
};
