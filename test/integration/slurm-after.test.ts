// Job dependencies on the slurm plugin (submit --after), end to end: sbatch --dependency=afterok/afterany
// against a real single-node Slurm, and a dependency that can never be met (the dependant is cancelled,
// recorded as ended unrun). Jobs that must not end yet wait on a gate file: nothing depends on timing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, ok, waitFor } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

interface JsonStatus {
  state: string;
  exit_code: number | null;
  native_id: string | null;
  started: string | null;
  reason?: string;
  dependency?: string;
}

describe('submit --after on the slurm plugin against a real Slurm', { concurrency: true }, () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const sh = async (script: string) => {
    const r = await lab.execAs('s1', 'alice', script);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const submit = async (id: string, opts: { log: string; gate?: string; code?: number; after?: string[] }) => {
    const gate = opts.gate ? `while [ ! -e "$HOME/${opts.gate}" ]; do sleep 0.2; done\n` : '';
    const dir = await makeJob(join(jobs, id), { 'start.sh': `${gate}echo ${id} >> "$HOME/${opts.log}"\nexit ${opts.code ?? 0}\n` });
    return ok(await run(['submit', 's1', '--id', id, ...(opts.after ?? []).flatMap((a) => ['--after', a]), dir]));
  };
  const json = async (id: string) => JSON.parse((await run(['status', 's1', '--id', id, '--json'])).stdout) as JsonStatus;
  const wait = (id: string) => run(['wait', 's1', '--id', id]);
  const dependency = async (id: string) => (await lab.exec('s1', ['squeue', '-h', '-j', (await json(id)).native_id!, '-o', '%E'])).stdout.trim();

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-slurm-after-');
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs an afterok chain A -> B -> C in order, B and C pending on Slurm dependencies', async () => {
    await submit('chain-a', { log: 'chain.log', gate: 'chain.gate' });
    await submit('chain-b', { log: 'chain.log', after: ['chain-a'] });
    await submit('chain-c', { log: 'chain.log', after: ['chain-b'] });
    assert.equal((await json('chain-b')).state, 'queued');
    assert.match(await dependency('chain-b'), new RegExp(`^afterok:${(await json('chain-a')).native_id}`));
    await sh('touch ~/chain.gate');
    const w = await wait('chain-c');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await sh('cat ~/chain.log'), 'chain-a\nchain-b\nchain-c\n');
  });

  it('runs an afterany dependant after a dependency that failed', async () => {
    await submit('any-a', { log: 'any.log', gate: 'any.gate', code: 3 });
    await submit('any-b', { log: 'any.log', after: ['any-a:any'] });
    assert.match(await dependency('any-b'), /^afterany:\d+/);
    await sh('touch ~/any.gate');
    const w = await wait('any-b');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await sh('cat ~/any.log'), 'any-a\nany-b\n');
  });

  it('ends unrun a job whose afterok dependency failed, and says why', async () => {
    await submit('never-a', { log: 'never.log', gate: 'never.gate', code: 3 });
    await submit('never-b', { log: 'never.log', after: ['never-a'] });
    await sh('touch ~/never.gate');
    const w = await wait('never-b');
    assert.equal(w.code, 4, w.stdout + w.stderr);
    assert.match(w.stdout, /^never-b\tfinished \(exit 125, not run: dependency never-a failed\)/);
    const b = await json('never-b');
    assert.equal(b.reason, 'dependency');
    assert.equal(b.dependency, 'never-a');
    assert.equal(b.started, null);
    assert.equal(await sh('cat ~/never.log'), 'never-a\n');
  });

  it('refuses a dependency on a job of another plugin', async () => {
    const dir = await makeJob(join(jobs, 'direct-a'), { 'start.sh': 'exit 0\n' });
    ok(await run(['submit', 's1', '--id', 'direct-a', '--plugin', 'direct', dir]));
    const dir2 = await makeJob(join(jobs, 'mixed-b'), { 'start.sh': 'exit 0\n' });
    const r = await run(['submit', 's1', '--id', 'mixed-b', '--after', 'direct-a', dir2]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /job direct-a runs on the direct plugin/);
  });

  // A job's directory is in any job's reach: what tej cancels or waits for must be what Slurm says tej
  // submitted for it (its name and comment), never an id read from those files alone.
  it('cancels for an unmet dependency only a Slurm job tej made for the job, not one its native-id was pointed at', async () => {
    // the user's own Slurm job, pending for ever: its dependency failed, and it has no --kill-on-invalid-dep
    const failed = (await sh("sbatch --parsable -o /dev/null --wrap 'exit 1'")).trim();
    const held = (await sh(`sbatch --parsable -o /dev/null --dependency=afterok:${failed} --wrap true`)).trim();
    const reason = () => lab.exec('s1', ['squeue', '-h', '-j', held, '-o', '%T %r']);
    await waitFor('the held job never satisfied', reason, (r) => r.stdout.trim() === 'PENDING DependencyNeverSatisfied', 120_000);
    await submit('pointed', { log: 'pointed.log', gate: 'pointed.gate' });
    // the native id rewritten, as a job could
    await sh(`printf '%s\\n' ${held} > ~/.tej/jobs/pointed/native-id`);
    const st = await run(['status', 's1', '--id', 'pointed']);
    assert.doesNotMatch(st.stdout, /not run/, st.stderr);
    assert.equal((await reason()).stdout.trim(), 'PENDING DependencyNeverSatisfied', 'the held job was not cancelled');
    assert.equal((await lab.execAs('s1', 'alice', 'test -e ~/.tej/jobs/pointed/exit-code')).code, 1, 'nor was pointed recorded ended unrun');
    await sh(`scancel ${held}; touch ~/pointed.gate`);
  });

  it('waits for the Slurm jobs tej made for an array, not for the ids a task wrote into its native-ids', async () => {
    await submit('other', { log: 'other.log', gate: 'other.gate' });
    const otherId = (await json('other')).native_id!;
    const dir = await makeJob(join(jobs, 'forged'), {
      // each task points the array's Slurm ids at another job of the user's, then waits
      'start.sh': `printf '%s\\n' ${otherId} > ../../native-ids\n: > "$HOME/forged.$TEJ_TASK_INDEX"\nwhile [ ! -e "$HOME/forged.gate" ]; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 's1', '--id', 'forged', '--array', '0-1', dir]));
    await waitFor('the tasks wrote', () => lab.execAs('s1', 'alice', 'test -e ~/forged.0 && test -e ~/forged.1'), (r) => r.code === 0, 120_000);
    const arrayId = (await sh('cat ~/.tej/jobs/forged/0/native-id')).trim().split('_')[0]!;
    await submit('forged-reduce', { log: 'forged.log', after: ['forged'] });
    const dep = await dependency('forged-reduce');
    assert.match(dep, new RegExp(`^afterok:${arrayId}_`), dep);
    assert.doesNotMatch(dep, new RegExp(`:${otherId}\\b`), dep);
    await sh('touch ~/forged.gate ~/other.gate');
    const w = await wait('forged-reduce');
    assert.equal(w.code, 0, w.stdout + w.stderr);
  });
});
