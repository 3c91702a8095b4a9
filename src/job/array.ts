// Arrays and sweeps: the task list of `--array SPEC` / `--param NAME=V1,V2` / tej.json params and tasks,
// sent as meta/array/ (remote-scripts/lib/array.sh starts the tasks, at most maxRunning at once).
import { UsageError } from '../errors.js';

export interface ArrayPlan {
  /** Task indexes, in the order they start. */
  indexes: number[];
  /** At most this many tasks run at once (direct: default the host's CPU count, see below). */
  maxRunning: number;
  /** Each task's own environment (sweeps), by index. */
  env: Map<number, Record<string, string>>;
}

/** Tasks per array at most: enough for any sweep, and a bound on the host's directories. */
export const MAX_TASKS = 100_000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `0-99`, `1,3,5-7`, optionally `%K`: the indexes (sorted, each once) and K. */
export function parseArraySpec(spec: string): { indexes: number[]; max?: number } {
  const bad = (why: string) => new UsageError(`bad --array '${spec}': ${why}`, { hint: 'write --array 0-99, 1,3,5-7 or 0-99%4' });
  const [list, max, ...rest] = spec.split('%');
  if (rest.length || !list) throw bad('one list, then at most one %K');
  const set = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part);
    if (!m) throw bad(`'${part}' is not N or N-M`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw bad(`'${part}' runs backwards`);
    if (to - from + 1 + set.size > MAX_TASKS) throw bad(`more than ${MAX_TASKS} tasks`);
    for (let i = from; i <= to; i++) set.add(i);
  }
  return { indexes: [...set].sort((a, b) => a - b), ...(max !== undefined ? { max: checkMax(max, `--array '${spec}'`) } : {}) };
}

function checkMax(text: string | number, where: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TASKS) throw new UsageError(`bad ${where}: at most K running needs a whole number K >= 1`);
  return n;
}

/** `NAME=V1,V2,...` (repeatable) → the values of each name, in order. */
export function parseParams(pairs: string[]): Record<string, string[]> {
  const params: Record<string, string[]> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(name)) throw new UsageError(`bad --param '${p}'`, { hint: 'write --param NAME=V1,V2 (NAME: an environment variable name)' });
    params[name] = [...(params[name] ?? []), ...p.slice(eq + 1).split(',')];
  }
  return params;
}

/** The cartesian product of the params: one environment per task, the first name varying slowest. */
export function sweep(params: Record<string, unknown[]>): Record<string, string>[] {
  let tasks: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(params)) {
    if (!ENV_NAME.test(name)) throw new UsageError(`bad parameter name '${name}'`, { hint: 'parameters are environment variable names: letters, digits, _' });
    if (!values.length) throw new UsageError(`parameter '${name}' has no values`);
    tasks = tasks.flatMap((t) => values.map((v) => ({ ...t, [name]: String(v) })));
    if (tasks.length > MAX_TASKS) throw new UsageError(`the sweep makes more than ${MAX_TASKS} tasks`);
  }
  return tasks;
}

export interface ArrayRequest {
  array?: string;
  maxRunning?: number;
  /** --param and tej.json params, merged (the flags' values replace the file's for one name). */
  params?: Record<string, unknown[]>;
  /** tej.json tasks: each task's environment, given whole. */
  tasks?: Record<string, unknown>[];
}

/** The array a submit asks for, or undefined for a plain job. */
export function planArray(req: ArrayRequest): ArrayPlan | undefined {
  const spec = req.array !== undefined ? parseArraySpec(req.array) : undefined;
  let envs: Record<string, string>[] | undefined;
  if (req.tasks?.length) envs = req.tasks.map((t) => sweep(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, [v]])))[0]!);
  if (req.params && Object.keys(req.params).length) {
    if (envs) throw new UsageError('both params and tasks: a sweep is one or the other');
    envs = sweep(req.params);
  }
  if (!spec && !envs) {
    if (req.maxRunning !== undefined) throw new UsageError('--max-running without --array or --param', { hint: 'write --array 0-9 --max-running 2' });
    return undefined;
  }
  if (spec && envs && spec.indexes.length !== envs.length) {
    throw new UsageError(`--array names ${spec.indexes.length} tasks, the sweep makes ${envs.length}`, { hint: 'leave --array out: a sweep numbers its tasks 0..N-1' });
  }
  const indexes = spec?.indexes ?? envs!.map((_, i) => i);
  const env = new Map<number, Record<string, string>>();
  envs?.forEach((e, i) => env.set(indexes[i]!, e));
  const max = req.maxRunning !== undefined ? checkMax(req.maxRunning, '--max-running') : spec?.max;
  // 0: the host decides (direct: its CPU count)
  return { indexes, maxRunning: max ?? 0, env };
}

/** The meta/array/ files of the upload. */
export function arrayMetaFiles(plan: ArrayPlan): [string, string][] {
  const files: [string, string][] = [['array/tasks', `${plan.indexes.join('\n')}\n`]];
  if (plan.maxRunning > 0) files.push(['array/max', `${plan.maxRunning}\n`]);
  for (const [i, env] of plan.env) for (const [k, v] of Object.entries(env)) files.push([`array/env/${i}/${k}`, v]);
  return files;
}

/** The tasks of ARRAY among the statuses a reply gave (the host answers for an array with its tasks). */
export function tasksOf<T>(array: string, statuses: Map<string, T>): [string, T][] {
  const prefix = `${array}/`;
  return [...statuses].filter(([id]) => id.startsWith(prefix));
}

/** IDS with each array's id replaced by its tasks, as a reply that expanded arrays named them. */
export function expandArrays<T>(ids: string[], statuses: Map<string, T | undefined>): string[] {
  return ids.flatMap((id) => {
    if (statuses.get(id) !== undefined) return [id];
    const tasks = tasksOf(id, statuses);
    return tasks.length ? tasks.map(([t]) => t) : [id];
  });
}

/** `12 tasks: 3 running, 6 queued, 2 finished, 1 failed`, from the tasks' states. */
export function summarizeTasks(states: { state: string; exitCode?: number }[]): string {
  const counts = new Map<string, number>();
  for (const s of states) {
    const word = s.state === 'finished' && s.exitCode !== 0 ? 'failed' : s.state;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const order = ['running', 'queued', 'submitting', 'finished', 'failed', 'killed', 'timeout', 'lost', 'incomplete'];
  const parts = order.filter((w) => counts.has(w)).map((w) => `${counts.get(w)} ${w}`);
  return `${states.length} task${states.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
