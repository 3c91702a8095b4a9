import type { CommandModule } from 'yargs';
import { describeStatus, type JobStatus } from '../../job/status.js';
import { type GlobalArgs, requireIds, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string[];
}

/** `tej status` exit codes, one per state (README, "Errors & exit codes"). */
export const STATUS_EXIT = {
  finished: 0, // and exit code 0
  failed: 4, // finished with a non-zero exit code
  running: 2,
  queued: 3,
  submitting: 3,
  killed: 5,
  timeout: 6,
  lost: 7,
  incomplete: 7,
  absent: 66,
} as const;

export function statusExit(s: JobStatus | undefined): number {
  if (!s) return STATUS_EXIT.absent;
  if (s.state === 'finished') return s.exitCode === 0 ? STATUS_EXIT.finished : STATUS_EXIT.failed;
  return STATUS_EXIT[s.state];
}

export function statusJson(id: string, s: JobStatus | undefined) {
  if (!s) return { id, state: 'absent' };
  return {
    id: s.id,
    state: s.state,
    exit_code: s.exitCode ?? null,
    plugin: s.plugin ?? null,
    native_id: s.nativeId ?? null,
    native_state: s.nativeState ?? null,
    submitted: s.submitted?.toISOString() ?? null,
    start: s.start?.toISOString() ?? null,
    end: s.end?.toISOString() ?? null,
    elapsed: s.elapsed ?? null,
  };
}

export const statusCommand: CommandModule<GlobalArgs, Args> = {
  command: 'status [destination..]',
  describe: 'Show the state of jobs; the exit code tells the state',
  builder: (y) => y.option('id', { type: 'string', array: true, describe: 'Job id (repeatable)' }) as never,
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const ids = requireIds(argv.id);
    const statuses = await withQueue(destination, argv, (q) => q.statuses(ids));
    let exit = 0;
    for (const id of ids) {
      const s = statuses.get(id);
      exit = Math.max(exit, statusExit(s));
      if (argv.json) printJson(statusJson(id, s));
      else process.stdout.write(ids.length > 1 ? `${id}\t${describeStatus(s)}\n` : `${describeStatus(s)}\n`);
    }
    process.exitCode = exit;
  },
};
