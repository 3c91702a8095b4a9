// What the scheduler dependency tests (slurm-after, sge-after) share: jobs that wait on a gate file and
// log their id, and the cases that read the same under every scheduler (an afterok chain, afterany after
// a failure, an afterok dependency that can never be met). Each suite passes in how its scheduler holds
// a dependant (Slurm's --dependency, Grid Engine's -hold_jid). No sleep stands in for an event.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeJob, ok, type TejRun } from './cli.js';

export interface AfterJson {
  state: string;
  exit_code: number | null;
  native_id: string | null;
  native_state: string | null;
  started: string | null;
  reason?: string;
  dependency?: string;
}

export interface AfterJobOptions {
  log: string;
  gate?: string;
  code?: number;
  after?: string[];
  array?: string;
}

/** The CLI on HOST (RUN), a shell as the jobs' user there (SH), and jobs made under JOBS. */
export function afterHarness(run: (args: string[]) => Promise<TejRun>, host: string, jobs: string, sh: (script: string) => Promise<string>) {
  return {
    sh,
    /** A job that waits for ~/GATE (when given), appends its id (and task index) to ~/LOG, exits CODE. */
    async submit(id: string, o: AfterJobOptions): Promise<string> {
      const gate = o.gate ? `while [ ! -e "$HOME/${o.gate}" ]; do sleep 0.2; done\n` : '';
      const dir = await makeJob(join(jobs, id), { 'start.sh': `${gate}echo ${id}\${TEJ_TASK_INDEX:+/$TEJ_TASK_INDEX} >> "$HOME/${o.log}"\nexit ${o.code ?? 0}\n` });
      const array = o.array ? ['--array', o.array] : [];
      return ok(await run(['submit', host, '--id', id, ...array, ...(o.after ?? []).flatMap((a) => ['--after', a]), dir]));
    },
    json: async (id: string) => JSON.parse((await run(['status', host, '--id', id, '--json'])).stdout) as AfterJson,
    wait: (id: string) => run(['wait', host, '--id', id]),
  };
}

export type AfterHarness = ReturnType<typeof afterHarness>;

/** How a suite checks that its scheduler holds DEPENDANT for DEPENDENCY in MODE. */
export type HeldCheck = (dependant: string, dependency: string, mode: 'ok' | 'any') => Promise<void>;

/** chain-a -> chain-b -> chain-c (afterok) run in order; HELD checks the scheduler holds each. */
export async function chainCase(h: AfterHarness, held: HeldCheck): Promise<void> {
  await h.submit('chain-a', { log: 'chain.log', gate: 'chain.gate' });
  await h.submit('chain-b', { log: 'chain.log', after: ['chain-a'] });
  await h.submit('chain-c', { log: 'chain.log', after: ['chain-b'] });
  assert.equal((await h.json('chain-b')).state, 'queued');
  await held('chain-b', 'chain-a', 'ok');
  await held('chain-c', 'chain-b', 'ok');
  await h.sh('touch ~/chain.gate');
  const w = await h.wait('chain-c');
  assert.equal(w.code, 0, w.stdout + w.stderr);
  assert.equal(await h.sh('cat ~/chain.log'), 'chain-a\nchain-b\nchain-c\n');
}

/** any-b (afterany) runs after any-a failed; HELD as for chainCase. */
export async function anyCase(h: AfterHarness, held: HeldCheck): Promise<void> {
  await h.submit('any-a', { log: 'any.log', gate: 'any.gate', code: 3 });
  await h.submit('any-b', { log: 'any.log', after: ['any-a:any'] });
  await held('any-b', 'any-a', 'any');
  await h.sh('touch ~/any.gate');
  const w = await h.wait('any-b');
  assert.equal(w.code, 0, w.stdout + w.stderr);
  assert.equal(await h.sh('cat ~/any.log'), 'any-a\nany-b\n');
}

/** never-b (afterok) ends unrun once never-a failed, and says why; so does each of LATE, submitted after the failure. */
export async function neverMetCase(h: AfterHarness, late: string[] = []): Promise<void> {
  await h.submit('never-a', { log: 'never.log', gate: 'never.gate', code: 3 });
  await h.submit('never-b', { log: 'never.log', after: ['never-a'] });
  await h.sh('touch ~/never.gate');
  for (const id of ['never-b', ...late]) {
    if (id !== 'never-b') await h.submit(id, { log: 'never.log', after: ['never-a'] });
    const w = await h.wait(id);
    assert.equal(w.code, 4, w.stdout + w.stderr);
    assert.match(w.stdout, new RegExp(`^${id}\\tfinished \\(exit 125, not run: dependency never-a failed\\)`));
    const s = await h.json(id);
    assert.equal(s.reason, 'dependency');
    assert.equal(s.dependency, 'never-a');
    assert.equal(s.started, null);
  }
  assert.equal(await h.sh('cat ~/never.log'), 'never-a\n');
}
