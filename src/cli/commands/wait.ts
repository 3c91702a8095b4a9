import { mkdir } from 'node:fs/promises';
import { expandArrays } from '../../job/array.js';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { EXIT, InvalidInputError, TejError, UsageError } from '../../errors.js';
import { jobOutput } from '../../job/output.js';
import { postPendingWebhooks } from '../../job/notify-post.js';
import { parseDuration } from '../../job/spec.js';
import { describeStatus, statusExit, type JobStatus } from '../../job/status.js';
import type { Queue } from '../../queue.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printable, printJson } from '../render.js';
import { type SelectArgs, selectIds, selectOptions } from '../select.js';
import { literalSpec, needsListing } from '../../download/sync-plan.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  download?: string[];
  timeout?: string;
}

export { hasEnded, nextDelay } from '../../job/wait.js';

async function downloadOutputs(q: Queue, id: string, specs: string[], several: boolean): Promise<number> {
  // With several jobs, each job's files go into a directory named after it, so that they do not clash.
  const cwd = several ? join(process.cwd(), id) : process.cwd();
  try {
    await mkdir(cwd, { recursive: true });
    // patterns (src/download/watch.ts) as `tej download` takes them
    if (needsListing(specs)) await q.syncDownload(id, specs, { cwd, update: false });
    else await q.download(id, specs.map(literalSpec), { cwd, stdout: process.stdout });
    return 0;
  } catch (e) {
    // Errors show even with --quiet; the other jobs are still waited for.
    process.stderr.write(`tej: downloading from job ${id} failed: ${(e as Error).message}\n`);
    return e instanceof TejError ? e.exitCode : EXIT.FAILURE;
  }
}

function timeoutSeconds(value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    throw new UsageError(`bad --timeout '${value}'`, { hint: 'write e.g. 90s, 45m, 2h, 1d' });
  }
}

export const waitCommand: CommandModule<GlobalArgs, Args> = {
  command: 'wait [destination..]',
  describe: 'Wait until jobs end; the exit code tells their state as status does; --download fetches outputs',
  builder: (y) =>
    selectOptions(y)
      .option('download', { type: 'string', array: true, describe: 'SPEC to download (as tej download) from each job that finished with exit 0; repeatable' })
      .option('timeout', { type: 'string', describe: 'Give up after this long (90s, 2h): the exit code then tells the state of the jobs still running' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const deadline = argv.timeout !== undefined ? Date.now() + timeoutSeconds(String(argv.timeout)) * 1000 : Infinity;
    const specs = (argv.download ?? []).map(String);
    process.exitCode = await withQueue(destination, argv, async (q) => {
      // One request for the jobs' records: their webhooks (tej.json notify.webhook) and the host's name.
      // An array's id stands for its tasks: the host's records name them (job/array.ts).
      const selected = await selectIds(q, argv);
      const records = await q.show(selected, { brief: true });
      const ids = expandArrays(selected, records);
      let exit = 0;
      const print = (id: string, s: JobStatus | undefined) => {
        exit = Math.max(exit, statusExit(s));
        if (argv.json) printJson(jobOutput(id, s));
        else process.stdout.write(`${id}\t${printable(describeStatus(s))}\n`);
      };
      // The first poll is the records' own states: one request (one squeue) to begin with, not two.
      const { statuses, timedOut } = await q.wait(ids, {
        initial: records,
        ...(deadline !== Infinity ? { timeout: Math.max(0, (deadline - Date.now()) / 1000) } : {}),
        onUpdate: async ({ id, status: s, ended }) => {
          if (!ended) return;
          print(id, s);
          // no curl or wget on the host: this client posts the webhook, once the host's claim says it is ours
          const rec = records.get(id);
          if (rec && s) await postPendingWebhooks(q, new Map([[id, { ...rec, ...s }]]), argv.quiet);
          if (specs.length && s?.state === 'finished' && s.exitCode === 0) exit = Math.max(exit, await downloadOutputs(q, id, specs, ids.length > 1));
        },
      });
      // the whole array's webhook, once every task of an array waited for has ended (job/notify-array.ts)
      // (an array waited for is a key without a record, beside its tasks)
      const seen = new Map<string, JobStatus | undefined>(selected.filter((id) => records.get(id) === undefined).map((id) => [id, undefined]));
      for (const id of ids) seen.set(id, statuses.get(id) && { ...records.get(id), ...statuses.get(id)! });
      await postPendingWebhooks(q, seen, argv.quiet, { arraysOnly: true });
      if (timedOut.length) {
        if (!argv.quiet) process.stderr.write(`tej: timed out waiting for ${timedOut.join(', ')}\n`);
        for (const id of timedOut) print(id, statuses.get(id));
      }
      return exit;
    });
  },
};
