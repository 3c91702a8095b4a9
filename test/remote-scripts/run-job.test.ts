// run-job.sh through the direct plugin: the job's environment and output, detaching, time limits, lost jobs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { processAlive } from './_processes.js';
import { HelperQueue, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** Fields 5 and 6 of /proc/PID/stat: process group and session. */
function groupAndSession(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return [Number(f[2]), Number(f[3])];
}

describe('run-job.sh', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('the job runs in work/ with its arguments, its environment and the TEJ_ variables', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const script = [
        'pwd',
        'for a in "$@"; do printf "arg=[%s]\\n" "$a"; done',
        'printf "FOO=[%s]\\n" "$FOO"',
        'printf "SPACEY=[%s]\\n" "$SPACEY"',
        'for v in TEJ_JOB_ID TEJ_JOB_DIR TEJ_QUEUE TEJ_JOB_NPROC TEJ_SCRATCH_DIR; do eval "printf \'%s=%s\\n\' $v \\"\\$$v\\""; done',
        'stat -c "scratch-mode=%a" "$TEJ_SCRATCH_DIR"',
        // the documented TEJ_ names, none of the helpers' own (TEJ_ROOT, TEJ_SHELL, TEJ_UMASK, ...)
        'echo "tej-names=$(env | sed -n "s/=.*//; /^TEJ_/p" | sort | tr "\\n" " ")"',
        'if read line; then echo stdin-has-data; else echo stdin-empty; fi',
        'echo "umask=$(umask)"',
        'echo to-stderr >&2',
        'exit 3',
      ].join('\n');
      await q.submit('env', {
        script: 'bin/run.sh',
        args: ['two words', '', "it's", '$HOME', 'trailing\n'],
        env: { FOO: 'line1\nline2\n', SPACEY: '  a  b  ' },
        nproc: 3,
        files: { 'bin/run.sh': script },
      });
      const rec = await q.waitState('env', ['finished']);
      assert.equal(rec.exit_code, '3');
      const dir = q.jobDir('env');
      const real = realpathSync(dir);
      // the scratch directory is <id>.<pid>-<start> (else <id>.XXXXXX): unique per queue and job
      const out = q.jobFile('env', 'work/tej.stdout').replace(/(\/tej-\d+\/env)\.(\d+-\d+|[A-Za-z0-9]{6})\n/, '$1\n');
      const expectedUmask = process.umask().toString(8).padStart(4, '0');
      assert.equal(
        out,
        [
          `${real}/work`,
          'arg=[two words]',
          'arg=[]',
          "arg=[it's]",
          'arg=[$HOME]',
          'arg=[trailing\n]',
          'FOO=[line1\nline2\n]',
          'SPACEY=[  a  b  ]',
          'TEJ_JOB_ID=env',
          `TEJ_JOB_DIR=${real}/work`,
          `TEJ_QUEUE=${realpathSync(q.root)}`,
          'TEJ_JOB_NPROC=3',
          `TEJ_SCRATCH_DIR=${q.env.TMPDIR}/tej-${process.getuid!()}/env`,
          'scratch-mode=700',
          'tej-names=TEJ_JOB_DIR TEJ_JOB_ID TEJ_JOB_NPROC TEJ_QUEUE TEJ_SCRATCH_DIR ',
          'stdin-empty',
          // posh prints the umask with three digits
          `umask=${shell.name === 'posh' ? expectedUmask.slice(1) : expectedUmask}`,
          '',
        ].join('\n'),
      );
      assert.equal(q.jobFile('env', 'work/tej.stderr'), 'to-stderr\n');
      assert.ok(!existsSync(`${q.env.TMPDIR}/tej-${process.getuid!()}/env`), 'the scratch dir is removed after the job');
      assert.ok(!existsSync(join(dir, 'scratch')));
      // (submitted is written once the plugin has started the job: a quick job may end before it)
      assert.ok(Number(rec.start) <= Number(rec.end), `start ${rec.start} <= end ${rec.end}`);
    });

    test('a job that put FIFOs where the wrapper writes its end (end, job-status, exit-code.tmp.PID) is recorded all the same', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // launched holds the wrapper's pid, which names write_state's temporary file
      await q.submit('planted', { command: 'set -- $(cat ../launched); mkfifo ../end ../job-status "../exit-code.tmp.$2" && echo planted; exit 5' });
      const rec = await q.waitState('planted', ['finished']);
      assert.equal(rec.exit_code, '5');
      assert.equal(q.jobFile('planted', 'work/tej.stdout'), 'planted\n');
    });

    test('an executable script runs by its #! line, another one with TEJ_SHELL', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('exe', { script: 'run', files: { run: { mode: 0o755, content: '#!/bin/sh\necho "direct $0"\n' } } });
      await q.submit('noexe', { script: 'run.sh', files: { 'run.sh': 'echo "via $0"\n' } });
      await q.waitState('exe', ['finished']);
      await q.waitState('noexe', ['finished']);
      // bash hands the kernel the full path of the script
      assert.match(q.jobFile('exe', 'work/tej.stdout'), /^direct (\.|.*\/work)\/run\n$/);
      assert.equal(q.jobFile('noexe', 'work/tej.stdout'), 'via ./run.sh\n');
    });

    test('a command runs with TEJ_SHELL -c, its output going where meta/stdout and meta/stderr say', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('cmd', { command: 'echo "out $1"; echo err >&2; exit 4', args: ['A'], stdout: 'logs/out.txt', stderr: 'logs/err.txt' });
      await q.submit('same', { command: 'echo one; echo two >&2', stdout: 'both.log', stderr: 'both.log' });
      const rec = await q.waitState('cmd', ['finished']);
      await q.waitState('same', ['finished']);
      assert.equal(rec.exit_code, '4');
      assert.equal(q.jobFile('cmd', 'work/logs/out.txt'), 'out A\n');
      assert.equal(q.jobFile('cmd', 'work/logs/err.txt'), 'err\n');
      assert.ok(!existsSync(join(q.jobDir('cmd'), 'work', 'tej.stdout')), 'no default output file');
      assert.equal(q.jobFile('same', 'work/both.log'), 'one\ntwo\n');
    });

    test('the job outlives the dispatcher in its own session and ends later with its exit code', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // The job ends only when the test opens its gate, after the checks: no race with a loaded machine.
      const gate = join(q.tmp, 'detached.gate');
      const rec = await q.submit('detached', { command: `while [ ! -e '${gate}' ]; do sleep 0.1; done; exit 7` });
      // The dispatcher has exited (submit resolved on close): the job runs on.
      const pid = Number(rec.native_id);
      assert.equal(rec.state, 'running');
      assert.ok(processAlive(pid), 'the wrapper runs');
      assert.deepEqual(groupAndSession(pid), [pid, pid], 'the wrapper leads its own session and process group');
      assert.equal((await q.status('detached')).state, 'running');
      writeFileSync(gate, '');
      const done = await q.waitState('detached', ['finished'], 60_000);
      assert.equal(done.exit_code, '7');
      assert.deepEqual(q.members(pid), []);
    });

    test('a time limit TERMs the job and records the state timeout', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('slow', { command: 'sleep 100000', timeLimit: 1 });
      const done = await q.waitState('slow', ['timeout', 'finished'], 60_000);
      assert.equal(done.state, 'timeout');
      assert.equal(done.exit_code, '143');
      assert.ok(existsSync(join(q.jobDir('slow'), 'timed-out')), 'timed-out is recorded');
      // The grace-period timer, started as the job died, may miss stop_timer's TERM: it ends at its
      // next step (here 1 s), seeing the wrapper gone.
      await waitFor('the group to empty', () => (q.members(Number(rec.native_id)).length === 0 ? true : undefined));
    });

    test('a job that ignores TERM at its time limit is KILLed after the grace period', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('stubborn', { command: 'trap "" TERM; sleep 100000 & wait', timeLimit: 1 });
      const done = await q.waitState('stubborn', ['timeout', 'finished'], 60_000);
      assert.equal(done.state, 'timeout');
      assert.equal(done.exit_code, '137');
      assert.ok(Number(done.end) - Number(done.start) >= 2, 'the limit, then the grace period');
      assert.deepEqual(q.members(Number(rec.native_id)), []);
      assert.ok(!existsSync(`${q.env.TMPDIR}/tej-${process.getuid!()}/stubborn`), 'the scratch dir is removed');
    });

    // Seen in CI (userland.test.ts, bash --posix): timeout shown while `sleep 1005`, which ignored the
    // TERM, still ran. The group's KILL came after the end was recorded; a slow notify-command makes
    // that window seconds long.
    test('a job that ignores TERM is gone before its timeout is recorded, however long the end takes', async (t) => {
      const q = await HelperQueue.setUp(shell, { env: { TEJ_KILL_GRACE: '1' } });
      t.after(() => q.cleanUp());
      await q.submit('slowend', { command: 'trap "" TERM; sleep 100023 & wait', timeLimit: 1, meta: { 'notify-command': 'sleep 4' } });
      const done = await q.waitState('slowend', ['timeout', 'finished'], 60_000);
      assert.equal(done.state, 'timeout');
      assert.deepEqual(q.commandLines().filter((c) => c.includes('sleep 100023')), [], 'no process of the job is left once the state says timeout');
    });

    test('a job without a time limit is left alone by the timer', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('quick', { command: 'exit 0', timeLimit: 30 });
      const done = await q.waitState('quick', ['finished']);
      assert.equal(done.exit_code, '0');
      // The timer and its sleep went with the wrapper.
      await waitFor('the group to empty', () => (q.members(Number(rec.native_id)).length === 0 ? true : undefined));
    });

    test('a wrapper killed with SIGKILL leaves the job lost, and kill sweeps what is left of it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('orphan', { command: 'sleep 100000' });
      const pid = Number(rec.native_id);
      const sleep = await q.waitForCommand(pid, 'sleep 100000');
      process.kill(pid, 'SIGKILL');
      const lost = await q.waitState('orphan', ['lost', 'finished']);
      assert.equal(lost.state, 'lost');
      assert.equal(lost.exit_code, undefined);
      assert.ok(q.members(pid).includes(sleep), 'the sleep runs on');
      const k = await q.ok(['kill', 'orphan', '--grace', '1']);
      assert.equal(k.records[0]!.previous_state, 'lost');
      assert.equal(k.records[0]!.state, 'lost');
      assert.deepEqual(q.members(pid), []);
      assert.ok(!existsSync(join(q.jobDir('orphan'), 'killed')));
    });

    test('a live process with another start time is not taken for the wrapper', async (t) => {
      // No GNU time between the runner and the job: it would carry the job's environment, and be swept.
      const q = await HelperQueue.setUp(shell, { env: { TEJ_TIME: 'none' } });
      t.after(() => q.cleanUp());
      // (no TEJ_JOB_DIR: kill sweeps the processes that carry the job's environment, see userland.test.ts)
      const rec = await q.submit('reused', { command: 'exec env -u TEJ_JOB_DIR sleep 1000' });
      const pid = Number(rec.native_id);
      assert.ok(existsSync(join(q.jobDir('reused'), 'pid-start')));
      // As if the wrapper had died and its pid had gone to a new process.
      writeFileSync(join(q.jobDir('reused'), 'pid-start'), '1\n');
      assert.equal((await q.status('reused')).state, 'lost');
      const k = await q.ok(['kill', 'reused', '--grace', '1']);
      assert.equal(k.records[0]!.state, 'lost');
      assert.ok(processAlive(pid), 'kill leaves a process that is not the job alone');
    });

    test('an unwritable output path fails the job with 126 and says why', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('noout', { command: 'echo hi', files: { 'blocker': 'a file' }, stdout: 'blocker/out.txt' });
      const done = await q.waitState('noout', ['finished']);
      assert.equal(done.exit_code, '126');
      assert.match(q.jobFile('noout', 'work/tej.stderr'), /cannot write the job's output file 'blocker\/out.txt'/);
      assert.equal(statSync(join(q.jobDir('noout'), 'work', 'blocker')).isFile(), true);
    });

    test('an output path through a symlink the job uploaded is refused, and nothing is written outside', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const outside = join(q.tmp, 'outside');
      mkdirSync(outside);
      await q.submit('outlink', { command: 'echo owned', files: { out: { symlink: outside } }, stdout: 'out/.profile' });
      await q.submit('outfile', { command: 'echo owned', files: { 'log.txt': { symlink: join(outside, 'log.txt') } }, stdout: 'log.txt' });
      await q.submit('outdeep', { command: 'echo owned', files: { 'a/b': { symlink: outside } }, stdout: 'a/b/c/d.txt' });
      for (const id of ['outlink', 'outfile', 'outdeep']) {
        const done = await q.waitState(id, ['finished']);
        assert.equal(done.exit_code, '126', id);
        assert.match(q.jobFile(id, 'work/tej.stderr'), /refusing the job's output file .*is a symbolic link/, id);
      }
      assert.deepEqual(readdirSync(outside), [], 'nothing written through the links');
    });

    test('submit refuses output paths that are absolute or leave the job with ..', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const [i, path] of ['../../../../.profile', '/tmp/x', 'a/../../b', '..'].entries()) {
        const r = await q.run(['submit', `bad${i}`, 'N0nce'], { input: await jobTar({ command: 'echo hi', stderr: path }) });
        assert.equal(r.code, 65, `${path}: ${r.stderr}`);
        assert.match(r.stderr, /bad stderr path/);
      }
      assert.deepEqual(readdirSync(join(q.root, 'jobs')), []);
    });
  });
});
