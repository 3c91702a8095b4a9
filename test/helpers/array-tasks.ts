// What the scheduler array tests share: the tasks of an array as `tej status --json` gives them, counted
// by state, and a job whose tasks wait for a file the test writes (no sleep stands in for an event).
import { join } from 'node:path';
import { makeJob, type TejRun } from './cli.js';

export interface TaskJson {
  id: string;
  state: string;
  exit_code: number | null;
  native_id: string | null;
  /** the scheduler's last word on the task (null: none, or it forgot the task) */
  native_state: string | null;
}

/** The tasks of array ID on HOST, one `status --json` line each, through RUN (the CLI as some user). */
export async function arrayTasks(run: (args: string[]) => Promise<TejRun>, host: string, id: string): Promise<TaskJson[]> {
  const r = await run(['status', host, '--id', id, '--json']);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TaskJson);
}

/** How many tasks are in each state. */
export function stateCounts(ts: TaskJson[]): Record<string, number> {
  return ts.reduce<Record<string, number>>((c, t) => ({ ...c, [t.state]: (c[t.state] ?? 0) + 1 }), {});
}

/** A job in JOBS/NAME whose task stamps its start and end into ~/NAME.log and waits for ~/NAME.go in between; EXTRA runs last. */
export function gatedArrayJob(jobs: string, name: string, extra = ''): Promise<string> {
  return makeJob(join(jobs, name), {
    'start.sh': `log=$HOME/${name}.log\necho "start $TEJ_TASK_INDEX" >>"$log"\nwhile ! test -f "$HOME/${name}.go"; do sleep 0.2; done\necho "end $TEJ_TASK_INDEX" >>"$log"\n${extra}`,
  });
}
