// Arrays under the pbs plugin, end to end on Slurm's Torque-style wrappers (slurm-wlm-torque over a real
// single-node Slurm, as test/integration/pbs.test.ts sets them up): one qsub -t 0-M%K, which the wrappers
// hand to sbatch --array; each task runs tej's index from the batch script's own list; at most K at once
// (the tasks' own stamps show it); per-task states and exit codes, though the wrappers list each task
// under a Slurm id of its own; one qstat per status; a kill of the array that deletes only what qstat
// shows as the array's, whatever a task wrote; and a kill of a single job that rewrote its native-id.
// PBS Pro's and Torque's own array ids and qstat -t output are read from recorded samples
// (test/remote-scripts/pbs-arrays.test.ts). Tasks wait for files the test writes: no sleep stands in for
// an event.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { mostAtOnce } from '../helpers/stamps.js';
import { arrayTasks, gatedArrayJob, stateCounts } from '../helpers/array-tasks.js';
import { countCalls, overlayTorque, takeCalls } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

describe('arrays and kill on the pbs plugin (Slurm\'s Torque wrappers)', () => {
  let lab: Lab<'p1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const onHost = (cmd: string) => lab.execAs('p1', 'alice', cmd);
  const tasks = (id: string) => arrayTasks(run, 'p1', id);
  const counts = stateCounts;
  const gated = (name: string, extra = '') => gatedArrayJob(jobs, name, extra);
  const slurmState = async (slurmId: string) => (await lab.exec('p1', ['squeue', '-h', '-t', 'all', '-j', slurmId, '-o', '%T'])).stdout.trim();

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'p1', role: 'slurm' }] });
    await overlayTorque(lab, 'p1');
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-pbs-arrays-');
    await countCalls(lab, 'p1', 'alice', ['qsub', 'qstat', 'qdel']);
    ok(await run(['setup', 'p1', '--plugin', 'pbs']));
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs 4 tasks with %2 as one qsub -t, never more than 2 at once, with per-task states and exit codes', async () => {
    const dir = await gated('thr', 'test "$TEJ_TASK_INDEX" != 3 || exit 3\n');
    await takeCalls(lab, 'p1', 'alice');
    assert.equal(ok(await run(['submit', 'p1', '--id', 'thr', '--array', '0-3%2', dir])).trim(), 'thr');
    // the one qsub: setup recorded the dialect, so no qstat --version (queue_check) per submit
    assert.deepEqual(await takeCalls(lab, 'p1', 'alice'), ['qsub']);
    const two = await waitFor('2 running', () => tasks('thr'), (ts) => counts(ts).running === 2, 120_000);
    assert.equal(counts(two).queued, 2, JSON.stringify(two));
    // the wrappers print the Slurm id of the array: task N is Slurm's ID_N
    const arrayId = /^(\d+)_0$/.exec(two[0]!.native_id ?? '')?.[1];
    assert.ok(arrayId, JSON.stringify(two));
    assert.deepEqual(two.map((t) => t.native_id), [0, 1, 2, 3].map((n) => `${arrayId}_${n}`));
    await takeCalls(lab, 'p1', 'alice');
    assert.equal((await run(['status', 'p1', '--id', 'thr'])).stdout, '4 tasks: 2 running, 2 queued\n');
    assert.deepEqual(await takeCalls(lab, 'p1', 'alice'), ['qstat']);
    ok(await onHost('touch ~/thr.go'));
    // ended, and each end confirmed by the server: a task's exit code can be there while qstat still
    // shows its job as running (R, E) until Slurm completes it
    const running = (t: { native_state: string | null }) => /^[QHWTREBSU]$/.test(t.native_state ?? '');
    const ended = await waitFor('all ended and confirmed', () => tasks('thr'), (ts) => counts(ts).finished === 4 && !ts.some(running), 180_000);
    assert.deepEqual(ended.map((t) => [t.id, t.state, t.exit_code]), [
      ['thr/0', 'finished', 0], ['thr/1', 'finished', 0], ['thr/2', 'finished', 0], ['thr/3', 'finished', 3],
    ]);
    const log = (await onHost('cat ~/thr.log')).stdout.trim().split('\n');
    assert.equal(log.length, 8, log.join('\n'));
    assert.equal(mostAtOnce(log), 2, log.join('\n'));
    // each task's batch-script output is in its own directory
    assert.equal((await onHost('test -f ~/.tej/jobs/thr/3/pbs.out')).code, 0);
    // ended and confirmed by the server: the job directories alone answer (status exits 4: a task failed)
    await takeCalls(lab, 'p1', 'alice');
    assert.equal((await run(['status', 'p1', '--id', 'thr'])).stdout, '4 tasks: 3 finished, 1 failed\n');
    assert.deepEqual(await takeCalls(lab, 'p1', 'alice'), []);
    // rerunning the failed task is not mapped yet: refused with 69, nothing submitted
    const rerun = await run(['resubmit', 'p1', '--id', 'thr', '--failed']);
    assert.equal(rerun.code, 69, rerun.stdout + rerun.stderr);
    assert.match(rerun.stderr, /task 3 of the PBS array thr cannot be rerun yet: submit it again/);
    assert.equal((await takeCalls(lab, 'p1', 'alice')).filter((c) => c === 'qsub').length, 0);
    assert.equal((await tasks('thr'))[3]!.state, 'finished');
  });

  it("kills the array, and not another job of the user whose id a task wrote into the array's native-ids", async () => {
    const other = await gated('other');
    ok(await run(['submit', 'p1', '--id', 'other', other]));
    const otherId = (await waitFor('other running', () => tasks('other'), (ts) => ts[0]!.state === 'running', 120_000))[0]!.native_id!;
    // task 0 points the array's native-ids and its own native-id at the other job, then waits like the rest
    const dir = await makeJob(join(jobs, 'steer'), {
      'start.sh': `if test "$TEJ_TASK_INDEX" = 0; then d=$TEJ_QUEUE/jobs/$TEJ_ARRAY_ID; echo ${otherId} > "$d/native-ids"; echo ${otherId} > "$d/0/native-id"; touch "$HOME/steered"; fi\nwhile ! test -f "$HOME/steer.go"; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 'p1', '--id', 'steer', '--array', '0-3%2', dir]));
    await waitFor('task 0 steered', () => onHost('test -f ~/steered'), (r) => r.code === 0, 120_000);
    await takeCalls(lab, 'p1', 'alice');
    ok(await run(['kill', 'p1', '--id', 'steer']));
    const killCalls = await takeCalls(lab, 'p1', 'alice');
    console.log(`scheduler calls, kill of a 4-task pbs array (2 running): ${killCalls.join(' ')}`);
    assert.equal(killCalls.filter((c) => c === 'qsub').length, 0);
    const killed = await waitFor('all killed', () => tasks('steer'), (ts) => ts.every((t) => t.state === 'killed'), 120_000);
    assert.equal(killed.length, 4);
    assert.equal((await tasks('other'))[0]!.state, 'running');
    assert.equal(await slurmState(otherId), 'RUNNING');
    ok(await onHost('touch ~/other.go'));
    await waitFor('other finished', () => tasks('other'), (ts) => ts[0]!.state === 'finished', 120_000);
  });

  it('refuses to kill one task alone (the wrappers\' qdel ends the whole array or nothing), and kills the array', async () => {
    const dir = await gated('one');
    ok(await run(['submit', 'p1', '--id', 'one', '--array', '0-1%2', dir]));
    await waitFor('both running', () => tasks('one'), (ts) => counts(ts).running === 2, 120_000);
    for (const task of ['one/0', 'one/1']) {
      const refused = await run(['kill', 'p1', '--id', task]);
      assert.equal(refused.code, 69, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /a task of an array cannot be deleted alone through Slurm's Torque wrappers/);
    }
    assert.deepEqual((await tasks('one')).map((t) => t.state), ['running', 'running']);
    ok(await run(['kill', 'p1', '--id', 'one']));
    const killed = await waitFor('both killed', () => tasks('one'), (ts) => ts.every((t) => t.state === 'killed'), 120_000);
    assert.equal(killed.length, 2);
  });

  it('refuses --after with 69 rather than running the job at once (nothing on pbs waits for it yet)', async () => {
    const dir = await makeJob(join(jobs, 'later'), { 'start.sh': 'touch ~/later.ran\n' });
    for (const extra of [[], ['--array', '0-1']]) {
      const r = await run(['submit', 'p1', '--id', `later${extra.length}`, '--after', 'thr', ...extra, dir]);
      assert.equal(r.code, 69, r.stdout + r.stderr);
      assert.match(r.stderr, /the pbs plugin cannot wait for other jobs yet \(--after\)/);
    }
    assert.equal((await onHost('test -e ~/later.ran')).code, 1);
  });

  it('kills a single job that rewrote its native-id to another job of the user, and not that other job; status shows no state of that job', async () => {
    const victim = await gated('victim');
    ok(await run(['submit', 'p1', '--id', 'victim', victim]));
    const victimId = (await waitFor('victim running', () => tasks('victim'), (ts) => ts[0]!.state === 'running', 120_000))[0]!.native_id!;
    const liar = await makeJob(join(jobs, 'liar'), {
      'start.sh': `echo ${victimId} > "$TEJ_QUEUE/jobs/liar/native-id"\ntouch "$HOME/lied"\nwhile ! test -f "$HOME/liar.go"; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 'p1', '--id', 'liar', liar]));
    await waitFor('the liar rewrote its native-id', () => onHost('test -f ~/lied'), (r) => r.code === 0, 120_000);
    // status takes no state from the victim's record (R, named with another tag), which the liar's id
    // names: the liar's own files answer (running)
    const s = JSON.parse((await run(['status', 'p1', '--id', 'liar', '--json'])).stdout) as { state: string; native_id: string; native_state: string | null };
    assert.equal(s.native_id, victimId);
    assert.equal(s.state, 'running', JSON.stringify(s));
    assert.ok(s.native_state === null || s.native_state === '-', JSON.stringify(s));
    ok(await run(['kill', 'p1', '--id', 'liar']));
    assert.equal((await tasks('liar'))[0]!.state, 'killed');
    assert.equal(await slurmState(victimId), 'RUNNING');
    assert.equal((await tasks('victim'))[0]!.state, 'running');
    ok(await onHost('touch ~/victim.go'));
    await waitFor('victim finished', () => tasks('victim'), (ts) => ts[0]!.state === 'finished', 120_000);
  });
});
