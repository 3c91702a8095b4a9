// kill and delete: the whole process group ends, the grace period, the states before and after.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue, parseReply, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** A job with children, a subshell's grandchild and a background pipeline: five processes or more. */
const FAMILY = 'sleep 1000 & sleep 1000 & (sleep 1000 & wait) & sleep 1000 | cat & wait';

describe('kill and delete', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('kill ends a job and every process it started, and the wrapper records the end', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('family', { command: FAMILY });
      const pgid = Number(rec.native_id);
      // wrapper, runner, job shell, and the sleeps, the subshell and cat
      await waitFor('the job to start its children', () => (q.members(pgid).length >= 8 ? true : undefined));
      const r = await q.run(['kill', 'family', '--grace', '5']);
      assert.equal(r.code, 0, r.stderr);
      const { header, records } = parseReply(r.stdout);
      assert.match(header.now!, /^\d+$/);
      assert.deepEqual(records, [{ id: 'family', previous_state: 'running', state: 'killed' }]);
      assert.deepEqual(q.members(pgid), [], 'no process of the group is left');
      const st = await q.status('family');
      assert.equal(st.state, 'killed');
      assert.equal(st.exit_code, '143');
      assert.match(st.end!, /^\d+$/);
      assert.match(q.jobFile('family', 'killed'), /^\d+\n$/);
    });

    test('a job that ignores TERM is KILLed when the grace period ends', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('deaf', { command: 'trap "" TERM; sleep 1000 & sleep 1000 & wait' });
      const pgid = Number(rec.native_id);
      await waitFor('the job to start its children', () => (q.members(pgid).length >= 5 ? true : undefined));
      const t0 = Date.now();
      const k = await q.ok(['kill', 'deaf', '--grace', '1']);
      assert.ok(Date.now() - t0 >= 1000, 'kill waited for the grace period');
      assert.equal(k.records[0]!.state, 'killed');
      assert.deepEqual(q.members(pgid), [], 'no process of the group is left');
      const st = await q.status('deaf');
      assert.equal(st.state, 'killed');
      assert.match(st.end!, /^\d+$/, 'kill records the end the wrapper could not');
      assert.ok(!existsSync(join(q.env.TMPDIR!, `tej-${process.getuid!()}`, 'deaf')), 'kill removes the scratch dir');
    });

    test('kill of an ended job changes nothing, and a missing job exits 66', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('done', { command: 'exit 5' });
      await q.waitState('done', ['finished']);
      const k = await q.ok(['kill', 'done']);
      assert.deepEqual(k.records, [{ id: 'done', previous_state: 'finished', state: 'finished' }]);
      assert.ok(!existsSync(join(q.jobDir('done'), 'killed')), 'no killed file');
      assert.equal((await q.status('done')).exit_code, '5');
      for (const [args, code] of [
        [['kill', 'nosuch'], 66],
        [['kill', '../x'], 65],
        [['kill'], 64],
        [['kill', 'done', 'extra'], 64],
        [['kill', 'done', '--grace', 'soon'], 64],
        [['kill', 'done', '--grace'], 64],
      ] as const) {
        const r = await q.run([...args]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      }
    });

    test('delete refuses a running job with 75, and with --kill kills and removes it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('busy', { command: FAMILY });
      const pgid = Number(rec.native_id);
      await waitFor('the job to start its children', () => (q.members(pgid).length >= 8 ? true : undefined));
      const refused = await q.run(['delete', 'busy']);
      assert.equal(refused.code, 75);
      assert.match(refused.stderr, /^tej-remote: job busy is running/m);
      assert.equal((await q.status('busy')).state, 'running');
      const d = await q.ok(['delete', 'busy', '--kill', '--grace', '5']);
      assert.deepEqual(d.records, [{ id: 'busy', deleted: '1' }]);
      assert.ok(!existsSync(q.jobDir('busy')), 'the job dir is gone');
      assert.deepEqual(q.members(pgid), [], 'no process of the group is left');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
      assert.equal((await q.status('busy')).state, 'absent');
    });

    test('delete removes ended, lost and incomplete jobs, refuses a submitting one and a missing one', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('ended', { command: 'exit 0' });
      await q.waitState('ended', ['finished']);
      assert.deepEqual((await q.ok(['delete', 'ended'])).records, [{ id: 'ended', deleted: '1' }]);
      // A submit that died half way: no native-id, its submitter gone.
      mkdirSync(join(q.jobDir('half'), 'meta'), { recursive: true });
      writeFileSync(join(q.jobDir('half'), 'submitter'), '999999999\n');
      assert.equal((await q.status('half')).state, 'incomplete');
      await q.ok(['delete', 'half']);
      assert.ok(!existsSync(q.jobDir('half')), 'the incomplete job is gone');
      // A submit still moving the job in: its submitter runs.
      mkdirSync(q.jobDir('moving'));
      writeFileSync(join(q.jobDir('moving'), 'submitter'), `${process.pid}\n`);
      assert.equal((await q.status('moving')).state, 'submitting');
      const busy = await q.run(['delete', 'moving', '--kill']);
      assert.equal(busy.code, 75);
      assert.ok(existsSync(q.jobDir('moving')), 'the submitting job stays');
      // kill says what is true of it: nothing was killed (75), not "killed".
      const early = await q.run(['kill', 'moving']);
      assert.equal(early.code, 75);
      assert.match(early.stderr, /job moving is being submitted/);
      assert.ok(!existsSync(join(q.jobDir('moving'), 'killed')));
      // A lost job whose processes run on: delete --kill sweeps them.
      const rec = await q.submit('orphan', { command: 'sleep 1000' });
      const pgid = Number(rec.native_id);
      await q.waitForCommand(pgid, 'sleep 1000');
      process.kill(pgid, 'SIGKILL');
      await q.waitState('orphan', ['lost']);
      await q.ok(['delete', 'orphan', '--kill', '--grace', '1']);
      assert.deepEqual(q.members(pgid), [], 'no process of the lost job is left');
      assert.ok(!existsSync(q.jobDir('orphan')), 'the lost job is gone');
      const missing = await q.run(['delete', 'nosuch']);
      assert.equal(missing.code, 66);
      assert.equal((await q.run(['delete'])).code, 64);
    });

    test("kill says 'try again' (75) or 'not killed' (69) when the plugin's queue_kill did nothing, and takes back the killed mark it wrote", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // A plugin whose job runs until its queue_kill succeeds; queue_kill exits as ../kill-status says.
      const calls = join(q.tmp, 'calls');
      q.writePlugin('batchy', [
        'queue_check() { return 0; }',
        'queue_state() { if test -f "$1/gone"; then echo killed; else echo running; fi; }',
        'queue_kill() {',
        '  echo "queue_kill ${1##*/} $2" >> "$TEJ_ROOT/../calls"',
        '  read -r st < "$TEJ_ROOT/../kill-status"',
        '  test "$st" != taken || { rm -f "$1/killed"; st=0; }',
        '  test "$st" != 0 || touch "$1/gone"',
        '  return "$st"',
        '}',
      ]);
      const status = join(q.tmp, 'kill-status');
      q.fakeJob('busy', { start: '101' });
      for (const [code, said] of [
        [75, /^tej-remote: the scheduler did not answer: job busy was not killed; try again$/m],
        [69, /^tej-remote: job busy was not killed$/m],
      ] as const) {
        writeFileSync(status, `${code}\n`);
        const r = await q.run(['kill', 'busy']);
        assert.equal(r.code, code, r.stderr);
        assert.match(r.stderr, said);
        assert.ok(!existsSync(join(q.jobDir('busy'), 'killed')), `${code}: no killed mark is left`);
        assert.ok(!existsSync(join(q.jobDir('busy'), 'end')), `${code}: no end`);
        assert.equal((await q.status('busy')).state, 'running');
        // the same through delete --kill: nothing is deleted
        const d = await q.run(['delete', 'busy', '--kill']);
        assert.equal(d.code, code, d.stderr);
        assert.ok(existsSync(q.jobDir('busy')), `${code}: delete --kill left the job`);
        assert.equal((await q.status('busy')).state, 'running');
      }
      assert.equal(readFileSync(calls, 'utf8'), 'queue_kill busy n-busy\n'.repeat(4));

      // Another failure may have signalled the job: the mark stays, and the command says 1.
      writeFileSync(status, '1\n');
      const failed = await q.run(['kill', 'busy']);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /could not kill job busy/);
      assert.ok(existsSync(join(q.jobDir('busy'), 'killed')));

      // A mark taken away while queue_kill ran (a concurrent kill that did nothing) is written again.
      q.fakeJob('twin', { start: '101' });
      writeFileSync(status, 'taken\n');
      const k = await q.ok(['kill', 'twin']);
      assert.deepEqual(k.records, [{ id: 'twin', previous_state: 'running', state: 'killed' }]);
      assert.ok(existsSync(join(q.jobDir('twin'), 'killed')));

      // A task of an array being killed keeps its mark: the array's kill ended its scheduler job.
      mkdirSync(q.jobDir('arr'));
      writeFileSync(join(q.jobDir('arr'), 'killed'), '100\n');
      q.fakeJob('arr/1', { start: '101' });
      writeFileSync(status, '75\n');
      const task = await q.run(['kill', 'arr/1']);
      assert.equal(task.code, 75, task.stderr);
      assert.match(task.stderr, /job arr\/1 was not killed; try again/);
      assert.ok(existsSync(join(q.jobDir('arr'), '1', 'killed')), 'the task of a killed array keeps its mark');
      // Every message names a task as its owner does, ARRAY/N.
      writeFileSync(status, '1\n');
      const taskFailed = await q.run(['kill', 'arr/1']);
      assert.equal(taskFailed.code, 1, taskFailed.stderr);
      assert.match(taskFailed.stderr, /^tej-remote: could not kill job arr\/1$/m);
    });
  });
});
