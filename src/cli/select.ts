// The job selectors shared by status, kill, delete, wait, resubmit and list: --id (repeatable, globs),
// --label key=value (repeatable, all must match).
import type { Argv } from 'yargs';
import { AuthenticationError, ConnectionError, ProtocolError, TejError } from '../errors.js';
import type { Queue } from '../queue.js';
import { splitJoinedIds } from './fold-args.js';
import { resolveSelection, type Selector } from '../job/select.js';
import type { JobStatus } from '../job/status.js';
import { printError } from './render.js';

export interface SelectArgs {
  id?: string[];
  label?: string[];
}

export function selectOptions<T>(y: Argv<T>) {
  return y
    .option('id', { type: 'string', array: true, describe: "Job id or glob pattern ('train_*'); repeatable", coerce: splitJoinedIds })
    .option('label', { type: 'string', array: true, describe: 'Only jobs with this label: key=value, or key; repeatable (all must match)' });
}

export function selectorOf(argv: SelectArgs, more: Partial<Selector> = {}): Selector {
  return { ids: (argv.id ?? []).map(String), labels: (argv.label ?? []).map(String), ...more };
}

/** The ids the selectors name; globs and labels cost one `list` request. */
export function selectIds(q: Queue, argv: SelectArgs, more: Partial<Selector> = {}): Promise<string[]> {
  return resolveSelection(selectorOf(argv, more), () => q.list(), q.host);
}

/**
 * The ids the selectors name, and the statuses of those jobs when they had to be listed to find them
 * (globs, labels): a command that only reports states needs no second request (and no second squeue).
 */
export async function selectJobs(q: Queue, argv: SelectArgs, more: Partial<Selector> = {}): Promise<{ ids: string[]; listed?: Map<string, JobStatus> }> {
  let listed: Map<string, JobStatus> | undefined;
  const ids = await resolveSelection(selectorOf(argv, more), async () => {
    const jobs = await q.list();
    listed = new Map(jobs.map((s) => [s.id, s]));
    return jobs;
  }, q.host);
  return listed ? { ids, listed } : { ids };
}

/**
 * Runs EACH for every id, in order. A refusal about one job (running, not found, not killed: an error
 * the host gave for that job) is printed and the next job still goes, as `rm a b c` goes on after one
 * error: `tej kill --id 'sweep_*'` must not leave the rest running because one scheduler call failed.
 * The command then exits with the first refusal's code. A lost connection, a failed login or a protocol
 * mismatch stops the loop (each next job would fail the same way). One id: its error as it is.
 */
export async function forEachId(ids: string[], verbose: boolean | undefined, each: (id: string) => Promise<void>): Promise<void> {
  if (ids.length === 1) return each(ids[0]!);
  let failed: number | undefined;
  for (const id of ids) {
    try {
      await each(id);
    } catch (err) {
      if (!(err instanceof TejError) || err instanceof ConnectionError || err instanceof AuthenticationError || err instanceof ProtocolError) throw err;
      const code = printError(err, verbose === true);
      failed ??= code;
    }
  }
  if (failed !== undefined) process.exitCode = failed;
}
