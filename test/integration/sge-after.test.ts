// Job dependencies on the sge plugin (submit --after), end to end against a real Grid Engine 8.1.9
// (test/lab/sge-host.sh): qsub -hold_jid holds the dependant until its dependencies have ended, however
// they ended; `ok` is the dependant's wrapper's to judge, which ends the job unrun (exit 125) when a
// dependency failed. An array as a dependency is all its tasks (the reduce step). Jobs that must not end
// yet wait on a gate file: nothing depends on timing. The cases run one after the other (4 slots).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, ok, waitFor } from '../helpers/cli.js';
import { afterHarness, anyCase, chainCase, neverMetCase, type AfterHarness, type HeldCheck } from '../helpers/after-cases.js';
import { arrayTasks } from '../helpers/array-tasks.js';
import { countCalls, takeCalls } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

describe('submit --after on the sge plugin against a real Grid Engine', () => {
  let lab: Lab<'g1'>;
  let home: string;
  let jobs: string;
  let h: AfterHarness;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const sh = async (script: string) => {
    const r = await lab.execAs('g1', 'alice', script);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  /** The Grid Engine jobs NATIVE_ID is held for (qstat -j: jid_predecessor_list (req)). */
  const holds = async (nativeId: string) => /^jid_predecessor_list \(req\): +(\S+)$/m.exec(await sh(`qstat -j ${nativeId}`))?.[1];
  /** DEPENDANT waits as hqw, held for DEPENDENCY's Grid Engine job (ok or any: the wrapper judges). */
  const held: HeldCheck = async (dependant, dependency) => {
    const s = await h.json(dependant);
    assert.equal(s.native_state, 'hqw', JSON.stringify(s));
    assert.equal(await holds(s.native_id!), (await h.json(dependency)).native_id);
  };

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'g1', role: 'sge' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-sge-after-');
    h = afterHarness(run, 'g1', jobs, sh);
    ok(await run(['setup', 'g1', '--plugin', 'sge']));
    await countCalls(lab, 'g1', 'alice', ['qsub', 'qstat', 'qdel', 'qacct']);
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs an afterok chain A -> B -> C in order, B and C held by Grid Engine', () => chainCase(h, held));

  it('runs an afterany dependant after a dependency that failed', () => anyCase(h, held));

  // never-c is submitted once never-a has failed: nothing to hold for, its wrapper ends it at once
  it('ends unrun a job whose afterok dependency failed, and one submitted after it had failed, and says why', () => neverMetCase(h, ['never-c']));

  it('runs a reduce job after every task of an array, and ends one unrun after an array with a failed task', async () => {
    await h.submit('map', { log: 'map.log', gate: 'map.gate', array: '0-2' });
    await takeCalls(lab, 'g1', 'alice');
    await h.submit('reduce', { log: 'map.log', after: ['map'] });
    // the array's Grid Engine jobs (sge_jobs: the listing, qstat -j of the one named after it), one
    // qsub, and one qstat for the state submit replies with
    assert.deepEqual(await takeCalls(lab, 'g1', 'alice'), ['qstat', 'qstat', 'qsub', 'qstat'], 'a submit --after is one qsub');
    const mapId = (await arrayTasks(run, 'g1', 'map'))[0]!.native_id!.split('.')[0];
    assert.equal(await holds((await h.json('reduce')).native_id!), mapId);
    await sh('touch ~/map.gate');
    const w = await h.wait('reduce');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    const log = (await sh('cat ~/map.log')).trim().split('\n');
    assert.equal(log.at(-1), 'reduce', log.join('\n'));
    assert.deepEqual(log.slice(0, 3).sort(), ['map/0', 'map/1', 'map/2']);
    // an array with a failed task: its afterok dependant never runs
    const bad = await makeJob(join(jobs, 'fmap'), { 'start.sh': 'while [ ! -e "$HOME/fmap.gate" ]; do sleep 0.2; done\ntest "$TEJ_TASK_INDEX" != 1 || exit 2\n' });
    ok(await run(['submit', 'g1', '--id', 'fmap', '--array', '0-1', bad]));
    await h.submit('freduce', { log: 'fmap.log', after: ['fmap'] });
    await sh('touch ~/fmap.gate');
    const f = await h.wait('freduce');
    assert.equal(f.code, 4, f.stdout + f.stderr);
    assert.match(f.stdout, /^freduce\tfinished \(exit 125, not run: dependency fmap\/1 failed\)/);
  });
  // native-id and native-ids are in a job's reach: a dependant is held only on what qstat shows as its
  // dependencies' own Grid Engine jobs (named after them, their directory in the context), never on
  // another job of the user that an id was rewritten to
  it("holds a dependant only on its dependencies' own Grid Engine jobs when a job and a task rewrote their ids", async () => {
    // the victim: alice's own Grid Engine job, not tej's, on user hold (it takes no slot)
    const victim = (await sh("cd /tmp && echo 'sleep 300' | qsub -h -terse -N victim -S /bin/sh -o /dev/null -j y")).trim();
    assert.match(victim, /^\d+$/);
    const rest = 'touch "$HOME/$TEJ_TASK_INDEX.forged"\nwhile [ ! -e "$HOME/forge.gate" ]; do sleep 0.2; done\n';
    const goThen = 'while [ ! -e "$HOME/forge.go" ]; do sleep 0.2; done\n';
    const one = await makeJob(join(jobs, 'fone'), { 'start.sh': `${goThen}echo ${victim} > "$TEJ_QUEUE/jobs/$TEJ_JOB_ID/native-id"\n${rest.replace('$TEJ_TASK_INDEX', 'one')}` });
    const arr = await makeJob(join(jobs, 'farr'), { 'start.sh': `${goThen}test "$TEJ_TASK_INDEX" != 0 || echo ${victim} >> "$TEJ_QUEUE/jobs/\${TEJ_JOB_ID%/*}/native-ids"\n${rest}` });
    ok(await run(['submit', 'g1', '--id', 'fone', one]));
    ok(await run(['submit', 'g1', '--id', 'farr', '--array', '0-1', arr]));
    const realOne = (await h.json('fone')).native_id!;
    const realArr = (await arrayTasks(run, 'g1', 'farr'))[0]!.native_id!.split('.')[0]!;
    await sh('touch ~/forge.go');
    await waitFor('the ids to be rewritten', () => lab.execAs('g1', 'alice', 'test -e ~/one.forged && test -e ~/0.forged'), (r) => r.code === 0);
    assert.equal((await h.json('fone')).native_id, victim);
    await h.submit('fdep', { log: 'fdep.log', after: ['fone', 'farr'] });
    const held = (await holds((await h.json('fdep')).native_id!))?.split(',').sort();
    assert.deepEqual(held, [realOne, realArr].sort(), `held on ${held?.join(',')}; the victim is ${victim}`);
    await sh(`qdel ${victim} >/dev/null; touch ~/forge.gate`);
    const w = await h.wait('fdep');
    assert.equal(w.code, 0, w.stdout + w.stderr);
  });
});
