// Arrays under the sge plugin, against a real Grid Engine 8.1.9 (test/lab/sge-host.sh: all.q, 4 slots):
// one qsub -t 1-M -tc K, tej's indexes mapped from Grid Engine's task ids, at most K tasks at once (the
// tasks' own stamps show it), per-task states and exit codes, and a kill of the array that deletes only
// what qstat says is the array's, whatever a task wrote into it. Tasks wait for files the test writes
// (go): no sleep stands in for an event. The cases run one after the other (4 slots).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { mostAtOnce } from '../helpers/stamps.js';
import { arrayTasks, gatedArrayJob, stateCounts } from '../helpers/array-tasks.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';
import { countCalls, takeCalls } from '../helpers/scheduler-calls.js';

describe('arrays on the sge plugin', () => {
  let lab: Lab<'g1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const onHost = (cmd: string) => lab.execAs('g1', 'alice', cmd);
  const tasks = (id: string) => arrayTasks(run, 'g1', id);
  const counts = stateCounts;
  const gated = (name: string, extra = '') => gatedArrayJob(jobs, name, extra);

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'g1', role: 'sge' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-sge-arrays-');
    ok(await run(['setup', 'g1', '--plugin', 'sge']));
    // alice's Grid Engine calls are logged (the counts per command: README, Grid Engine)
    await countCalls(lab, 'g1', 'alice', ['qsub', 'qstat', 'qdel', 'qacct']);
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs 4 tasks with %2 as one Grid Engine array, never more than 2 at once, with per-task states and exit codes', async () => {
    const dir = await gated('thr', 'test "$TEJ_TASK_INDEX" != 3 || exit 3\n');
    assert.equal(ok(await run(['submit', 'g1', '--id', 'thr', '--array', '0-3%2', dir])).trim(), 'thr');
    const two = await waitFor('2 running', () => tasks('thr'), (ts) => counts(ts).running === 2, 120_000);
    assert.equal(counts(two).queued, 2, JSON.stringify(two));
    // tej's index 0 is Grid Engine's task 1
    const sgeId = /^(\d+)\.1$/.exec(two[0]!.native_id ?? '')?.[1];
    assert.ok(sgeId, JSON.stringify(two));
    assert.deepEqual(two.map((t) => t.native_id), [1, 2, 3, 4].map((n) => `${sgeId}.${n}`));
    assert.equal((await run(['status', 'g1', '--id', 'thr'])).stdout, '4 tasks: 2 running, 2 queued\n');
    ok(await onHost('touch ~/thr.go'));
    const ended = await waitFor('all ended', () => tasks('thr'), (ts) => counts(ts).finished === 4, 180_000);
    assert.deepEqual(ended.map((t) => [t.id, t.state, t.exit_code]), [
      ['thr/0', 'finished', 0], ['thr/1', 'finished', 0], ['thr/2', 'finished', 0], ['thr/3', 'finished', 3],
    ]);
    const log = (await onHost('cat ~/thr.log')).stdout.trim().split('\n');
    assert.equal(log.length, 8, log.join('\n'));
    assert.equal(mostAtOnce(log), 2, log.join('\n'));
  });

  it("kills the array, and not another job of the user whose id a task wrote into the array's native-ids", async () => {
    const other = await gated('other');
    ok(await run(['submit', 'g1', '--id', 'other', other]));
    const otherId = (await waitFor('other running', () => tasks('other'), (ts) => ts[0]!.state === 'running', 120_000))[0]!.native_id!;
    // task 0 points the array's native-ids at the other job, then waits like the rest
    const dir = await makeJob(join(jobs, 'steer'), {
      'start.sh': `if test "$TEJ_TASK_INDEX" = 0; then echo ${otherId} > "$TEJ_QUEUE/jobs/$TEJ_ARRAY_ID/native-ids"; touch "$HOME/steered"; fi\nwhile ! test -f "$HOME/steer.go"; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 'g1', '--id', 'steer', '--array', '0-3%2', dir]));
    await waitFor('task 0 steered', () => onHost('test -f ~/steered'), (r) => r.code === 0, 120_000);
    await takeCalls(lab, 'g1', 'alice');
    ok(await run(['kill', 'g1', '--id', 'steer']));
    const killCalls = await takeCalls(lab, 'g1', 'alice');
    console.log(`Grid Engine calls, kill of a 4-task array: ${killCalls.length}: ${killCalls.join(' ')}`);
    // one ownership listing for the array and one qdel, no kill per task (a qstat a second while Grid
    // Engine ends the jobs; qacct only for the reply's states)
    assert.equal(killCalls.filter((c) => c === 'qdel').length, 1, killCalls.join(' '));
    assert.ok(killCalls.filter((c) => c === 'qacct').length <= 4, killCalls.join(' '));
    const killed = await waitFor('all killed', () => tasks('steer'), (ts) => ts.every((t) => t.state === 'killed'), 120_000);
    assert.equal(killed.length, 4);
    // the other job runs on: its qstat line is there, and tej says running
    assert.equal((await tasks('other'))[0]!.state, 'running');
    assert.equal((await onHost(`qstat -j ${otherId} >/dev/null`)).code, 0);
    await takeCalls(lab, 'g1', 'alice');
    ok(await run(['kill', 'g1', '--id', 'other']));
    console.log(`Grid Engine calls, kill of a running job: ${(await takeCalls(lab, 'g1', 'alice')).join(' ')}`);
    assert.equal((await tasks('other'))[0]!.state, 'killed');
  });

  it('resubmit --failed reruns only the failed task of a Grid Engine array, under its own id, as a Grid Engine job of its own', async () => {
    // task 2 fails until ~/rr.fixed exists, then waits for ~/rr.go; every run is logged
    const dir = await makeJob(join(jobs, 'rr'), {
      'start.sh': 'echo "$TEJ_TASK_INDEX" >>"$HOME/rr.log"\ntest "$TEJ_TASK_INDEX" != 2 || test -f "$HOME/rr.fixed" || exit 5\ntest "$TEJ_TASK_INDEX" != 2 || while ! test -f "$HOME/rr.go"; do sleep 0.2; done\n',
    });
    ok(await run(['submit', 'g1', '--id', 'rr', '--array', '0-3', dir]));
    const first = await waitFor('all ended', () => tasks('rr'), (ts) => ts.every((t) => t.state === 'finished'), 180_000);
    assert.deepEqual(first.map((t) => t.exit_code), [0, 0, 5, 0]);
    ok(await onHost('touch ~/rr.fixed'));
    await takeCalls(lab, 'g1', 'alice');
    assert.equal(ok(await run(['resubmit', 'g1', '--id', 'rr', '--failed'])), 'rr/2\n');
    const calls = await takeCalls(lab, 'g1', 'alice');
    console.log(`Grid Engine calls, resubmit --failed of one task: ${calls.join(' ')}`);
    assert.equal(calls.filter((c) => c === 'qsub').length, 1, calls.join(' '));
    const rerun = await waitFor('the rerun running', () => tasks('rr'), (ts) => ts[2]!.state === 'running', 120_000);
    const [oldJob, newJob] = [first[2]!.native_id!, rerun[2]!.native_id!].map((n) => n.split('.')[0]!);
    assert.notEqual(newJob, oldJob);
    assert.equal(rerun[2]!.native_id, `${newJob}.1`);
    // the rerun is the array's: its name and context are the array's
    const j = (await onHost(`qstat -j ${newJob}`)).stdout;
    assert.match(j, /^job_name: +rr$/m, j);
    ok(await onHost('touch ~/rr.go'));
    const again = await waitFor('the rerun finished', () => tasks('rr'), (ts) => ts[2]!.state === 'finished', 180_000);
    assert.deepEqual(again.map((t) => [t.id, t.state, t.exit_code]), [['rr/0', 'finished', 0], ['rr/1', 'finished', 0], ['rr/2', 'finished', 0], ['rr/3', 'finished', 0]]);
    assert.deepEqual((await onHost('sort -n ~/rr.log')).stdout.trim().split('\n'), ['0', '1', '2', '2', '3']);
    // nothing failed any more
    assert.equal((await run(['resubmit', 'g1', '--id', 'rr', '--failed'])).code, 66);
  });
});
