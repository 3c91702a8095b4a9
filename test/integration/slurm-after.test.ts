// Job dependencies on the slurm plugin (submit --after), end to end: sbatch --dependency=afterok/afterany
// against a real single-node Slurm, and a dependency that can never be met (the dependant is cancelled,
// recorded as ended unrun). Jobs that must not end yet wait on a gate file: nothing depends on timing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, ok } from '../helpers/cli.js';
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
  /** DEPENDANT pends on Slurm's after<MODE>:<DEPENDENCY's job id> (squeue %E). */
  const held: HeldCheck = async (dependant, dependency, mode) => {
    const e = (await lab.exec('s1', ['squeue', '-h', '-j', (await h.json(dependant)).native_id!, '-o', '%E'])).stdout.trim();
    assert.match(e, new RegExp(`^after${mode}:${(await h.json(dependency)).native_id}`));
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
});
