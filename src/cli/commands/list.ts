import type { CommandModule } from 'yargs';
import { JobNotFoundError } from '../../errors.js';
import { jobOutput } from '../../job/output.js';
import { checkStateFilter, matches, parseSince, type Selector } from '../../job/select.js';
import { formatDuration, type JobStatus } from '../../job/status.js';
import { postPendingWebhooks } from '../../job/notify-post.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printable, printJson } from '../render.js';
import { type SelectArgs, selectOptions, selectorOf } from '../select.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  state?: string[];
  since?: string;
}

function when(d: Date | undefined): string {
  return d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-';
}

/** The plain line of a job: tab-separated id, state, start (UTC), duration (what scripts read). */
export function plainLine(j: JobStatus): string {
  const state = j.state === 'finished' ? `finished(${j.exitCode ?? '?'})` : j.state;
  return `${j.id}\t${printable(state)}\t${when(j.start)}\t${j.elapsed !== undefined ? formatDuration(j.elapsed) : '-'}`;
}

/** The table for a terminal: a header and aligned columns. */
export function table(jobs: JobStatus[]): string {
  const rows = [
    ['ID', 'STATE', 'EXIT', 'STARTED (UTC)', 'DURATION', 'LABELS'],
    ...jobs.map((j) => [
      j.id,
      j.state,
      j.exitCode !== undefined ? String(j.exitCode) : '-',
      when(j.start),
      j.elapsed !== undefined ? formatDuration(j.elapsed) : '-',
      printable(Object.entries(j.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')) || '-',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

export const listCommand: CommandModule<GlobalArgs, Args> = {
  command: 'list [destination..]',
  describe: 'List the jobs of the queue: id, state, start, duration (filters: --state, --label, --since, --id)',
  builder: (y) =>
    selectOptions(y)
      .option('state', { type: 'string', array: true, describe: 'Only jobs in this state (repeatable); failed: non-zero exit, timeout or lost' })
      .option('since', { type: 'string', describe: 'Only jobs submitted since: a duration back from now (2h, 1d) or a date (2026-11-23)' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const states = (argv.state ?? []).map(String).map(checkStateFilter);
    const sel: Selector = selectorOf(argv, { states, since: argv.since !== undefined ? parseSince(String(argv.since)) : undefined });
    let host = destination ?? 'local';
    const jobs = (
      await withQueue(destination, argv, async (q) => {
        host = q.host;
        const listed = await q.list();
        // a webhook the host could not post (no curl or wget there) is posted by this client, once
        await postPendingWebhooks(q, new Map(listed.map((j) => [j.id, j])), argv.quiet, { allArrays: true });
        return listed;
      })
    ).filter((j) => matches(j, sel));
    // as for every other command: an --id that matches nothing is an error (66), not an empty list
    for (const p of sel.ids ?? []) {
      if (!jobs.some((j) => matches(j, { ids: [p] }))) {
        throw new JobNotFoundError(`no job matches --id '${p}' (on ${host})`, { hint: `'tej list${destination ? ` ${destination}` : ''}' without --id shows the jobs` });
      }
    }
    if (argv.json) jobs.forEach((j) => printJson(jobOutput(j.id, j)));
    else if (process.stdout.isTTY) {
      if (jobs.length) process.stdout.write(table(jobs));
      else if (!argv.quiet) process.stderr.write('tej: no jobs\n');
    } else for (const j of jobs) process.stdout.write(plainLine(j) + '\n');
  },
};
