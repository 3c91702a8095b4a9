// Arrays and sweeps on the direct plugin, against a real sshd: one upload, tasks ID/N, at most K running
// at once (the tasks' own start/end stamps show it), a wrapper's end starts the next task, a kill stops
// all of them, a wrapper killed with -9 does not stall the rest, a sweep gives each task its values.
// Tasks wait for files the test writes (go, stop): no sleep stands in for an event.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { startHookServer } from '../helpers/hook-server.js';
import { mostAtOnce } from '../helpers/stamps.js';
import { useSshHost } from '../helpers/lab.js';

interface TaskJson {
  id: string;
  state: string;
  exit_code: number | null;
  started: string | null;
}

describe('arrays on direct', { concurrency: true }, () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-arrays-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const onHost = (cmd: string) => sshHost.lab.execAs('h1', 'alice', cmd);
  const tasks = async (id: string): Promise<TaskJson[]> => {
    const r = await run(['status', 'h1', '--id', id, '--json']);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TaskJson);
  };
  const counts = (ts: TaskJson[]) => ts.reduce<Record<string, number>>((c, t) => ({ ...c, [t.state]: (c[t.state] ?? 0) + 1 }), {});

  /** A job whose task stamps its start and end into ~/STAMPS and waits for ~/GO in between. */
  const gated = (name: string, extra = '') =>
    makeJob(join(sshHost.jobs, name), {
      'start.sh': `log=$HOME/${name}.log\necho "start $TEJ_TASK_INDEX" >>"$log"\nwhile ! test -f "$HOME/${name}.go"; do sleep 0.2; done\n${extra}echo "end $TEJ_TASK_INDEX" >>"$log"\n`,
    });

  it('runs 12 tasks with %3 never more than 3 at once, each with its index, count and array id', async () => {
    const dir = await gated('thr', 'echo "$TEJ_TASK_INDEX $TEJ_TASK_COUNT $TEJ_ARRAY_ID" >out.txt\n');
    const id = ok(await run(['submit', 'h1', '--id', 'thr', '--array', '0-11%3', dir])).trim();
    assert.equal(id, 'thr');
    // the first three hold their slots until go: exactly 3 run, 9 wait
    await waitFor('3 running', () => tasks('thr'), (ts) => counts(ts).running === 3, 90_000);
    const held = await run(['status', 'h1', '--id', 'thr']);
    assert.equal(held.stdout, '12 tasks: 3 running, 9 queued\n');
    assert.equal(held.code, 3, 'the worst state is queued');
    ok(await onHost('touch ~/thr.go'));
    await waitFor('all 12 finished', () => tasks('thr'), (ts) => counts(ts).finished === 12, 120_000);
    const log = (await onHost('cat ~/thr.log')).stdout.trim().split('\n');
    assert.equal(log.length, 24, log.join('\n'));
    assert.equal(mostAtOnce(log), 3, log.join('\n'));
    const out = await run(['download', 'h1', '--id', 'thr/7', 'out.txt:']);
    assert.equal(ok(out), '7 12 thr\n');
    const done = await run(['status', 'h1', '--id', 'thr']);
    assert.equal(done.stdout, '12 tasks: 12 finished\n');
    assert.equal(done.code, 0);
    const list = ok(await run(['list', 'h1', '--id', 'thr/1*']));
    assert.deepEqual(list.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['thr/1', 'thr/10', 'thr/11']);
  });

  it('kill of the array stops every task, and no queued one starts afterwards', async () => {
    const dir = await gated('kil');
    ok(await run(['submit', 'h1', '--id', 'kil', '--array', '0-5', '--max-running', '2', dir]));
    await waitFor('2 running', () => tasks('kil'), (ts) => counts(ts).running === 2, 90_000);
    ok(await run(['kill', 'h1', '--id', 'kil', '--grace', '2']));
    const after = await tasks('kil');
    assert.deepEqual(counts(after), { killed: 6 });
    assert.deepEqual(after.filter((t) => t.started !== null).map((t) => t.id), ['kil/0', 'kil/1']);
    // the killed wrappers' ends started nothing, and the status above (which fills free slots) neither
    assert.deepEqual((await onHost('sort ~/kil.log')).stdout, 'start 0\nstart 1\n');
    assert.equal((await onHost('pgrep -u alice -f \'[k]il\\.go\' || true')).stdout, '');
    ok(await run(['delete', 'h1', '--id', 'kil']));
    assert.equal((await run(['status', 'h1', '--id', 'kil'])).stdout, 'no such job\n');
  });

  it('a wrapper killed with -9 does not stall the array: the next status starts the next task', async () => {
    const dir = await gated('nine');
    ok(await run(['submit', 'h1', '--id', 'nine', '--array', '0-2%1', dir]));
    await waitFor('task 0 running', () => tasks('nine'), (ts) => ts[0]?.state === 'running', 90_000);
    // the wrapper, proved by its command line before it is killed
    const killed = await onHost('w=$(cat ~/.tej/jobs/nine/0/native-id) && ps -o args= -p "$w" | grep -q "run-job.sh .*/nine/0$" && kill -9 "$w" && echo killed');
    assert.equal(killed.stdout, 'killed\n', killed.stderr);
    await waitFor('task 1 running', () => tasks('nine'), (ts) => ts[1]?.state === 'running', 90_000);
    ok(await onHost('touch ~/nine.go'));
    const end = await waitFor('the rest finished', () => tasks('nine'), (ts) => counts(ts).finished === 2, 120_000);
    assert.deepEqual(end.map((t) => t.state), ['lost', 'finished', 'finished']);
  });

  it('resubmit --failed reruns only the failed task, in its place', async () => {
    // task 2 fails until ~/rr.fixed exists; every run of a task adds a line to ~/rr.log
    const dir = await makeJob(join(sshHost.jobs, 'rr'), {
      'start.sh': 'echo "run $TEJ_TASK_INDEX" >>"$HOME/rr.log"\ntest "$TEJ_TASK_INDEX" != 2 || test -f "$HOME/rr.fixed"\n',
    });
    ok(await run(['submit', 'h1', '--id', 'rr', '--array', '0-4%2', dir]));
    await waitFor('all ended', () => tasks('rr'), (ts) => counts(ts).finished === 5, 120_000);
    const failed = await run(['status', 'h1', '--id', 'rr']);
    assert.equal(failed.stdout, '5 tasks: 4 finished, 1 failed\n');
    assert.equal(failed.code, 4);
    ok(await onHost('touch ~/rr.fixed'));
    assert.equal(ok(await run(['resubmit', 'h1', '--id', 'rr', '--failed'])), 'rr/2\n');
    const again = await waitFor('the rerun ended', () => tasks('rr'), (ts) => ts.every((t) => t.state === 'finished' && t.exit_code === 0), 120_000);
    assert.equal(again.length, 5);
    assert.deepEqual((await onHost('sort ~/rr.log')).stdout, 'run 0\nrun 1\nrun 2\nrun 2\nrun 3\nrun 4\n');
    // wait and show take the array's id for its tasks
    const waited = await run(['wait', 'h1', '--id', 'rr']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(waited.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['rr/0', 'rr/1', 'rr/2', 'rr/3', 'rr/4']);
    assert.deepEqual(ok(await run(['show', 'h1', '--id', 'rr'])).match(/^id: +\S+$/gm), ['rr/0', 'rr/1', 'rr/2', 'rr/3', 'rr/4'].map((t) => `id:             ${t}`));
  });

  it('a sweep gives each task its values, as they were written', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'sweep'), {
      'start.sh': 'printf "%s|%s|%s\\n" "$TEJ_TASK_INDEX" "$lr" "$seed" >out.txt\n',
    });
    const sub = JSON.parse(ok(await run(['submit', 'h1', '--id', 'sw', '--json', '--param', 'lr=0.1,$(id)', '--param', 'seed=1,2', dir]))) as { id: string; tasks: string[] };
    assert.deepEqual(sub, { id: 'sw', plugin: 'direct', tasks: ['sw/0', 'sw/1', 'sw/2', 'sw/3'] });
    await waitFor('all finished', () => tasks('sw'), (ts) => counts(ts).finished === 4, 120_000);
    const outs = [];
    for (const t of sub.tasks) outs.push(ok(await run(['download', 'h1', '--id', t, 'out.txt:'])));
    assert.deepEqual(outs, ['0|0.1|1\n', '1|0.1|2\n', '2|$(id)|1\n', '3|$(id)|2\n']);
    // from every task at once: into ./sw/N/
    ok(await run(['download', 'h1', '--id', 'sw/*', 'out.txt']));
    for (const [i, out] of outs.entries()) assert.equal(readFileSync(join(sshHost.home, 'sw', String(i), 'out.txt'), 'utf8'), out);
    const whole = await run(['download', 'h1', '--id', 'sw', 'out.txt']);
    assert.equal(whole.code, 65);
    assert.match(whole.stderr, /sw is an array: download from a task \(--id sw\/N\) or from each of them/);
    // tej.json "tasks": each object one task's environment
    const listed = await makeJob(join(sshHost.jobs, 'listed'), {
      'start.sh': 'printf "%s\\n" "$name" >out.txt\n',
      'tej.json': JSON.stringify({ tasks: [{ name: "it's `x`" }, { name: 'b c' }] }),
    });
    ok(await run(['submit', 'h1', '--id', 'tl', listed]));
    await waitFor('both finished', () => tasks('tl'), (ts) => counts(ts).finished === 2, 120_000);
    assert.equal(ok(await run(['download', 'h1', '--id', 'tl/0', 'out.txt:'])), "it's `x`\n");
    assert.equal(ok(await run(['download', 'h1', '--id', 'tl/1', 'out.txt:'])), 'b c\n');
  });

  // A reduce step: a job --after an array waits for every task (lib/after.sh after_blocker_into).
  it('runs a job --after an array once all its tasks have finished, and never after one that failed', async () => {
    const dir = await gated('red');
    ok(await run(['submit', 'h1', '--id', 'red', '--array', '0-2%3', dir]));
    const reduce = await makeJob(join(sshHost.jobs, 'reduce'), { 'start.sh': 'cat "$HOME/red.log" | grep -c end\n' });
    ok(await run(['submit', 'h1', '--id', 'reduce', '--after', 'red', reduce]));
    await waitFor('3 running', () => tasks('red'), (ts) => counts(ts).running === 3, 90_000);
    assert.equal((await run(['status', 'h1', '--id', 'reduce'])).stdout, 'queued\n');
    ok(await onHost('touch ~/red.go'));
    await waitFor('reduce finished', () => run(['status', 'h1', '--id', 'reduce']), (r) => r.code === 0, 120_000);
    assert.equal(ok(await run(['download', 'h1', '--id', 'reduce', 'tej.stdout:'])), '3\n');

    const bad = await makeJob(join(sshHost.jobs, 'redbad'), { 'start.sh': 'test "$TEJ_TASK_INDEX" != 1\n' });
    ok(await run(['submit', 'h1', '--id', 'redbad', '--array', '0-2', bad]));
    ok(await run(['submit', 'h1', '--id', 'never', '--after', 'redbad', reduce]));
    const never = await waitFor('never ended unrun', () => run(['show', 'h1', '--id', 'never', '--json']), (r) => /"exit_code":125/.test(r.stdout), 120_000);
    assert.match(never.stdout, /"reason":"dependency",.*"dependency":"redbad\/1"/);
  });

  // The webhook: each task's end, then the array's once all have ended (lib/webhook.sh webhook_array_post).
  it("posts each task's end and, once, the whole array's with its counts, to the webhook the client submitted", async () => {
    const hooks = await startHookServer(sshHost.lab.hosts.h1.ip);
    const bodies = hooks.bodies;
    try {
      const dir = await makeJob(join(sshHost.jobs, 'hookarr'), {
        'start.sh': 'test "$TEJ_TASK_INDEX" != 1\n',
        'tej.json': JSON.stringify({ notify: { webhook: `${hooks.base}/hook` } }),
      });
      ok(await run(['submit', 'h1', '--id', 'hookarr', '--array', '0-3%2', dir]));
      // the array's POST and each task's, as the host recorded them (a task's may still be on its way
      // when the last task posts the array's)
      const posted = 'cat ~/.tej/jobs/hookarr/notify-posted ~/.tej/jobs/hookarr/*/notify-posted | wc -l';
      await waitFor('the five POSTs', () => onHost(posted), (r) => r.stdout.trim() === '5', 120_000);
      const tasksPosted = bodies().filter((b) => 'state' in b).map((b) => `${String(b.id)} ${String(b.exit_code)}`).sort();
      assert.deepEqual(tasksPosted, ['hookarr/0 0', 'hookarr/1 1', 'hookarr/2 0', 'hookarr/3 0']);
      assert.deepEqual(
        bodies().filter((b) => !('state' in b)),
        [{ id: 'hookarr', tasks: 4, finished: 3, failed: 1, killed: 0, timeout: 0, host: 'h1' }],
      );
    } finally {
      hooks.close();
    }
  });

  // TEJ_ARRAY_TIMING=1: a 1,000-task array's submit and status beside a single job's (printed, not asserted)
  it('submits and reports a 1,000-task array (times printed, not asserted)', { skip: process.env.TEJ_ARRAY_TIMING !== '1' && 'TEJ_ARRAY_TIMING=1 times it' }, async () => {
    const timed = async (args: string[]) => {
      const t = Date.now();
      const r = await tej(args, { home: sshHost.home, timeoutMs: 900_000 });
      return { r, ms: Date.now() - t };
    };
    const one = await makeJob(join(sshHost.jobs, 'one'), { 'start.sh': 'true\n' });
    const single = await timed(['submit', 'h1', '--id', 'one', one]);
    ok(single.r);
    await waitFor('one finished', () => run(['status', 'h1', '--id', 'one']), (r) => r.code === 0, 120_000);
    const singleStatus = await timed(['status', 'h1', '--id', 'one']);
    const dir = await makeJob(join(sshHost.jobs, 'big'), { 'start.sh': 'true\n' });
    const submit = await timed(['submit', 'h1', '--id', 'big', '--array', '0-999', dir]);
    ok(submit.r);
    const live = await timed(['status', 'h1', '--id', 'big']);
    assert.match(live.r.stdout, /^1000 tasks: /, live.r.stderr);
    await waitFor('1000 finished', () => run(['status', 'h1', '--id', 'big']), (r) => r.stdout === '1000 tasks: 1000 finished\n', 900_000);
    const ended = await timed(['status', 'h1', '--id', 'big']);
    console.log(
      `# direct: single job submit ${single.ms} ms, status ${singleStatus.ms} ms; 1000-task array submit ${submit.ms} ms, status ${live.ms} ms live (${live.r.stdout.trim()}), ${ended.ms} ms once all ended`,
    );
  });
});
