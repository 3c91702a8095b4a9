// Arrays under the slurm plugin, against a real single-node Slurm whose MaxArraySize is 5: one sbatch
// --array per block of 5 indexes, at most K tasks running at once (Slurm's %K; the tasks' own stamps
// show it), per-task states and exit codes from one squeue per status, a sweep's values per task, a
// kill of the array. Tasks wait for files the test writes (go): no sleep stands in for an event.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { mostAtOnce } from '../helpers/stamps.js';
import { arrayTasks, gatedArrayJob, stateCounts } from '../helpers/array-tasks.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

// TEJ_SLURM_ARRAY_TIMING=1: the lab's MaxArraySize is Slurm's default (1001), and a 1,000-task array is timed
const timing = process.env.TEJ_SLURM_ARRAY_TIMING === '1';
if (timing) process.env.TEJ_LAB_SLURM_MAX_ARRAY_SIZE = '1001';

describe('arrays on the slurm plugin', { concurrency: true }, () => {
  let lab: Lab<'s1'>;
  let home: string; // alice
  let bobHome: string; // bob, whose squeue calls are counted (no other case runs as bob)
  let jobs: string;
  const run = (args: string[], h = home) => tej(args, { home: h, timeoutMs: 180_000 });
  const onHost = (cmd: string, user = 'alice') => lab.execAs('s1', user, cmd);
  const tasks = (id: string, h = home) => arrayTasks((args) => run(args, h), 's1', id);
  const counts = stateCounts;
  const gated = (name: string, extra = '') => gatedArrayJob(jobs, name, extra);

  before(async () => {
    process.env.TEJ_LAB_SLURM_MAX_ARRAY_SIZE ??= '5';
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    bobHome = await makeClientHome(lab, { user: 'bob' });
    jobs = await lab.makeTmpDir('tej-slurm-arrays-');
    // squeue on bob's PATH counts its calls in ~/calls.log
    const w = await onHost(`mkdir -p ~/testbin && printf '#!/bin/sh\\necho squeue >> "$HOME/calls.log"\\nexec /usr/bin/squeue "$@"\\n' > ~/testbin/squeue && chmod 755 ~/testbin/squeue && echo 'PATH=$HOME/testbin:$PATH' >> ~/.bashrc`, 'bob');
    assert.equal(w.code, 0, w.stderr);
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
    ok(await run(['setup', 's1', '--plugin', 'slurm'], bobHome));
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs 4 tasks with %2 never more than 2 at once, with per-task states and exit codes, one squeue per status', async () => {
    const dir = await gated('thr', 'test "$TEJ_TASK_INDEX" != 3 || exit 3\n');
    assert.equal(ok(await run(['submit', 's1', '--id', 'thr', '--array', '0-3%2', dir], bobHome)).trim(), 'thr');
    const two = await waitFor('2 running', () => tasks('thr', bobHome), (ts) => counts(ts).running === 2, 120_000);
    assert.equal(counts(two).queued, 2, JSON.stringify(two));
    assert.match(two[0]!.native_id ?? '', /^\d+_0$/);
    ok(await onHost(': > ~/calls.log', 'bob'));
    const held = await run(['status', 's1', '--id', 'thr'], bobHome);
    assert.equal(held.stdout, '4 tasks: 2 running, 2 queued\n');
    assert.equal((await onHost('cat ~/calls.log', 'bob')).stdout, 'squeue\n');
    ok(await onHost('touch ~/thr.go', 'bob'));
    const ended = await waitFor('all ended', () => tasks('thr', bobHome), (ts) => counts(ts).finished === 4, 180_000);
    assert.deepEqual(ended.map((t) => [t.id, t.state, t.exit_code]), [
      ['thr/0', 'finished', 0], ['thr/1', 'finished', 0], ['thr/2', 'finished', 0], ['thr/3', 'finished', 3],
    ]);
    const log = (await onHost('cat ~/thr.log', 'bob')).stdout.trim().split('\n');
    assert.equal(log.length, 8, log.join('\n'));
    assert.equal(mostAtOnce(log), 2, log.join('\n'));
  });

  it('splits 12 tasks into sbatch arrays of MaxArraySize (5) and maps the indexes back', { skip: timing && 'timing run' }, async () => {
    const dir = await makeJob(join(jobs, 'split'), { 'start.sh': 'echo "$TEJ_TASK_INDEX $TEJ_TASK_COUNT $TEJ_ARRAY_ID" >>"$HOME/split.log"\n' });
    ok(await run(['submit', 's1', '--id', 'split', '--array', '0-11', dir]));
    const done = await waitFor('12 finished', () => tasks('split'), (ts) => counts(ts).finished === 12, 180_000);
    const natives = new Set(done.map((t) => t.native_id!.split('_')[0]));
    assert.equal(natives.size, 3, JSON.stringify(done));
    // each task's native id is its block's Slurm id and its index within the block
    assert.deepEqual(done.map((t) => Number(t.native_id!.split('_')[1])), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
    const lines = (await onHost('sort -n ~/split.log')).stdout.trim().split('\n');
    assert.deepEqual(lines, Array.from({ length: 12 }, (_, i) => `${i} 12 split`));
  });

  it('gives each task of a sweep its values', async () => {
    const dir = await makeJob(join(jobs, 'sweep'), { 'start.sh': 'echo "$TEJ_TASK_INDEX $LR $SEED" >>"$HOME/sweep.log"\n' });
    ok(await run(['submit', 's1', '--id', 'sweep', '--param', 'LR=0.1,0.01', '--param', 'SEED=1,2,3', dir]));
    await waitFor('6 finished', () => tasks('sweep'), (ts) => counts(ts).finished === 6, 180_000);
    const lines = (await onHost('sort -n ~/sweep.log')).stdout.trim().split('\n');
    assert.equal(lines.length, 6, lines.join('\n'));
    assert.deepEqual(new Set(lines.map((l) => l.split(' ').slice(1).join(' '))), new Set(['0.1 1', '0.1 2', '0.1 3', '0.01 1', '0.01 2', '0.01 3']));
  });

  it('kills the array: the running task and the pending ones', async () => {
    const dir = await gated('kil');
    ok(await run(['submit', 's1', '--id', 'kil', '--array', '0-3%1', dir]));
    await waitFor('1 running', () => tasks('kil'), (ts) => counts(ts).running === 1, 120_000);
    ok(await run(['kill', 's1', '--id', 'kil']));
    const ts = await tasks('kil');
    assert.deepEqual(ts.map((t) => t.state), ['killed', 'killed', 'killed', 'killed']);
    const left = (await lab.exec('s1', ['squeue', '-h', '-n', 'kil', '-t', 'PENDING,RUNNING'])).stdout.trim();
    assert.equal(left, '');
  });
  it('kills only what tej made for the array: a task that rewrites native-ids, its native-id and plugin steers nothing', async () => {
    const victim = await makeJob(join(jobs, 'victim'), { 'start.sh': 'while ! test -f "$HOME/victim.go"; do sleep 0.2; done\n' });
    ok(await run(['submit', 's1', '--id', 'victim', victim]));
    const [v] = await tasks('victim');
    assert.match(v!.native_id ?? '', /^\d+$/);
    // the task points its array's Slurm ids and its own native id at the victim, and claims to be direct
    const evil = await makeJob(join(jobs, 'evil'), {
      'start.sh': `v=${v!.native_id}\nprintf '%s\\n' "$v" >../../native-ids\nprintf '%s\\n' "$v" >../native-id\necho direct >../plugin\n: >"$HOME/evil.ready"\nwhile ! test -f "$HOME/evil.go"; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 's1', '--id', 'evil', '--array', '0-1%1', evil]));
    await waitFor('the task rewrote them', () => onHost('test -f ~/evil.ready'), (r) => r.code === 0, 120_000);
    ok(await run(['kill', 's1', '--id', 'evil']));
    const alive = (await lab.exec('s1', ['squeue', '-h', '-j', v!.native_id!, '-o', '%T'])).stdout.trim();
    assert.match(alive, /^(RUNNING|PENDING)$/, 'the victim was not cancelled');
    // the array's own Slurm jobs were cancelled all the same: Slurm says which they are
    const left = (await lab.exec('s1', ['squeue', '-h', '-n', 'evil', '-t', 'PENDING,RUNNING'])).stdout.trim();
    assert.equal(left, '');
    ok(await onHost('touch ~/victim.go'));
    await waitFor('victim finished', () => run(['status', 's1', '--id', 'victim']), (r) => r.code === 0, 180_000);
  });

  it('resubmit --failed reruns only the failed task of a Slurm array, under its own id, as a Slurm job of its own', async () => {
    // task 2 fails until ~/rr.fixed exists; every run is logged
    const dir = await makeJob(join(jobs, 'rr'), {
      'start.sh': 'echo "$TEJ_TASK_INDEX" >>"$HOME/rr.log"\ntest "$TEJ_TASK_INDEX" != 2 || test -f "$HOME/rr.fixed" || exit 5\n',
    });
    ok(await run(['submit', 's1', '--id', 'rr', '--array', '0-3', dir]));
    const first = await waitFor('all ended', () => tasks('rr'), (ts) => ts.every((t) => t.state === 'finished'), 180_000);
    assert.deepEqual(first.map((t) => t.exit_code), [0, 0, 5, 0]);
    ok(await onHost('touch ~/rr.fixed'));
    assert.equal(ok(await run(['resubmit', 's1', '--id', 'rr', '--failed'])), 'rr/2\n');
    const again = await waitFor('the rerun finished', () => tasks('rr'), (ts) => ts[2]!.state === 'finished' && ts[2]!.exit_code === 0, 180_000);
    assert.deepEqual(again.map((t) => [t.id, t.state, t.exit_code]), [['rr/0', 'finished', 0], ['rr/1', 'finished', 0], ['rr/2', 'finished', 0], ['rr/3', 'finished', 0]]);
    assert.notEqual(again[2]!.native_id!.split('_')[0], first[2]!.native_id!.split('_')[0]);
    const runs = (await onHost('sort -n ~/rr.log')).stdout.trim().split('\n');
    assert.deepEqual(runs, ['0', '1', '2', '2', '3']);
    // nothing failed any more
    assert.equal((await run(['resubmit', 's1', '--id', 'rr', '--failed'])).code, 66);
  });

  it('runs a reduce job --after an array once all its tasks have finished', { skip: timing && 'timing run' }, async () => {
    const dir = await gated('red');
    ok(await run(['submit', 's1', '--id', 'red', '--array', '0-2', dir]));
    const reduce = await makeJob(join(jobs, 'reduce'), { 'start.sh': 'grep -c end "$HOME/red.log" >"$HOME/reduce.out"\n' });
    ok(await run(['submit', 's1', '--id', 'reduce', '--after', 'red', reduce]));
    assert.equal((await run(['status', 's1', '--id', 'reduce'])).code, 3, 'queued while the tasks wait for red.go');
    ok(await onHost('touch ~/red.go'));
    await waitFor('reduce finished', () => run(['status', 's1', '--id', 'reduce']), (r) => r.code === 0, 180_000);
    assert.equal((await onHost('cat ~/reduce.out')).stdout, '3\n');
  });

  it('submits and reports a 1,000-task array (times printed, not asserted)', { skip: !timing && 'TEJ_SLURM_ARRAY_TIMING=1 times it' }, async () => {
    const dir = await makeJob(join(jobs, 'big'), { 'start.sh': 'true\n' });
    let t = Date.now();
    ok(await run(['submit', 's1', '--id', 'big', '--array', '0-999', dir]));
    const submitMs = Date.now() - t;
    // status while Slurm holds the tasks (each asks the plugin), then once all have ended (records only)
    t = Date.now();
    const live = await tej(['status', 's1', '--id', 'big'], { home, timeoutMs: 900_000 });
    const liveMs = Date.now() - t;
    assert.match(live.stdout, /^1000 tasks: /, live.stderr);
    console.log(`# 1000-task slurm array (one sbatch): submit ${submitMs} ms, status ${liveMs} ms live (${live.stdout.trim()})`);
    await waitFor('1000 finished', () => run(['status', 's1', '--id', 'big']), (r) => r.stdout === '1000 tasks: 1000 finished\n', 900_000);
    t = Date.now();
    const ended = await run(['status', 's1', '--id', 'big']);
    const endedMs = Date.now() - t;
    assert.equal(ended.stdout, '1000 tasks: 1000 finished\n');
    console.log(`# 1000-task slurm array: status ${endedMs} ms once all ended`);
  });
});
