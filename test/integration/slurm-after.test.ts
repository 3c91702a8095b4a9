// Job dependencies on the slurm plugin (submit --after), end to end: sbatch --dependency=afterok/afterany
// against a real single-node Slurm, and a dependency that can never be met (the dependant is cancelled,
// recorded as ended unrun). Jobs that must not end yet wait on a gate file: nothing depends on timing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, ok, waitFor } from '../helpers/cli.js';
import { afterHarness, anyCase, chainCase, neverMetCase, type AfterHarness, type HeldCheck } from '../helpers/after-cases.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

describe('submit --after on the slurm plugin against a real Slurm', { concurrency: true }, () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  let h: AfterHarness;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const sh = async (script: string) => {
    const r = await lab.execAs('s1', 'alice', script);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  /** ID's Slurm dependency as squeue shows it (%E). */
  const dependency = async (id: string) => (await lab.exec('s1', ['squeue', '-h', '-j', (await h.json(id)).native_id!, '-o', '%E'])).stdout.trim();
  /** DEPENDANT pends on Slurm's after<MODE>:<DEPENDENCY's job id>. */
  const held: HeldCheck = async (dependant, dependency_, mode) => {
    assert.match(await dependency(dependant), new RegExp(`^after${mode}:${(await h.json(dependency_)).native_id}`));
  };

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-slurm-after-');
    h = afterHarness(run, 's1', jobs, sh);
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs an afterok chain A -> B -> C in order, B and C pending on Slurm dependencies', () => chainCase(h, held));

  it('runs an afterany dependant after a dependency that failed', () => anyCase(h, held));

  it('ends unrun a job whose afterok dependency failed, and says why', () => neverMetCase(h));

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
    await h.submit('pointed', { log: 'pointed.log', gate: 'pointed.gate' });
    // the native id rewritten, as a job could
    await sh(`printf '%s\\n' ${held} > ~/.tej/jobs/pointed/native-id`);
    const st = await run(['status', 's1', '--id', 'pointed']);
    assert.doesNotMatch(st.stdout, /not run/, st.stderr);
    assert.equal((await reason()).stdout.trim(), 'PENDING DependencyNeverSatisfied', 'the held job was not cancelled');
    assert.equal((await lab.execAs('s1', 'alice', 'test -e ~/.tej/jobs/pointed/exit-code')).code, 1, 'nor was pointed recorded ended unrun');
    await sh(`scancel ${held}; touch ~/pointed.gate`);
  });

  it('waits for the Slurm jobs tej made for an array, not for the ids a task wrote into its native-ids', async () => {
    await h.submit('other', { log: 'other.log', gate: 'other.gate' });
    const otherId = (await h.json('other')).native_id!;
    const dir = await makeJob(join(jobs, 'forged'), {
      // each task points the array's Slurm ids at another job of the user's, then waits
      'start.sh': `printf '%s\\n' ${otherId} > ../../native-ids\n: > "$HOME/forged.$TEJ_TASK_INDEX"\nwhile [ ! -e "$HOME/forged.gate" ]; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 's1', '--id', 'forged', '--array', '0-1', dir]));
    await waitFor('the tasks wrote', () => lab.execAs('s1', 'alice', 'test -e ~/forged.0 && test -e ~/forged.1'), (r) => r.code === 0, 120_000);
    const arrayId = (await sh('cat ~/.tej/jobs/forged/0/native-id')).trim().split('_')[0]!;
    await h.submit('forged-reduce', { log: 'forged.log', after: ['forged'] });
    const dep = await dependency('forged-reduce');
    assert.match(dep, new RegExp(`^afterok:${arrayId}_`), dep);
    assert.doesNotMatch(dep, new RegExp(`:${otherId}\\b`), dep);
    await sh('touch ~/forged.gate ~/other.gate');
    const w = await h.wait('forged-reduce');
    assert.equal(w.code, 0, w.stdout + w.stderr);
  });
});
