// show, logs, resubmit, labels in status records, and the notify command of run-job.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { processAlive } from './_processes.js';
import { HelperQueue, TEST_HASH, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/**
 * Runs `/bin/sh -c SCRIPT ARGS...` in the queue's environment, a starter that puts a process in the
 * background and prints its pid (echo $!), and returns that pid once the starter has exited.
 */
async function startInBackground(q: HelperQueue, shArgs: string[]): Promise<number> {
  const pidText = await new Promise<string>((resolve, reject) => {
    const c = spawn('/bin/sh', ['-c', ...shArgs], { env: q.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(out));
  });
  const pid = Number(pidText.trim());
  assert.ok(pid > 0, pidText);
  return pid;
}

describe('show, logs, resubmit, notify', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('status and list carry the labels; show adds where the job runs, its spec and record', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('lab', {
        command: 'echo hi',
        stdout: 'out/log.txt',
        meta: {
          labels: '{"exp":"a b","seed":"1"}\n',
          'spec.json': '{\n  "labels": {\n    "exp": "a b"\n  }\n}\n',
          'job.json': '{"git":{"commit":"abc","diff":"x\\ny\\n"}}\n',
        },
      });
      await q.submit('plain', { command: 'exit 1' });
      await q.waitState('lab', ['finished']);
      const status = await q.ok(['status', 'lab', 'plain']);
      assert.equal(status.records[0]!.labels, '{"exp":"a b","seed":"1"}');
      assert.equal(status.records[1]!.labels, undefined, 'no labels, no key');
      const list = await q.ok(['list']);
      assert.equal(list.records.find((r) => r.id === 'lab')!.labels, '{"exp":"a b","seed":"1"}');

      const show = await q.ok(['show', 'lab', 'nosuch']);
      assert.equal(show.header.queue, q.root);
      assert.ok(show.header.host, 'host= names the machine');
      const rec = show.records[0]!;
      assert.equal(rec.state, 'finished');
      assert.equal(rec.work_dir, join(q.root, 'jobs', 'lab', 'work'));
      assert.equal(rec.stdout, 'out/log.txt');
      assert.equal(rec.stderr, 'tej.stderr');
      assert.deepEqual(JSON.parse(rec.spec!), { labels: { exp: 'a b' } });
      assert.deepEqual(JSON.parse(rec.job!), { git: { commit: 'abc', diff: 'x\ny\n' } });
      assert.deepEqual(show.records[1], { id: 'nosuch', state: 'absent' });
      const brief = await q.ok(['show', '--brief', 'lab']);
      assert.equal(brief.records[0]!.job, undefined, '--brief leaves the submission record out');
      assert.equal(brief.records[0]!.spec, rec.spec);
      assert.equal((await q.run(['show', 'bad/id'])).code, 65);
      assert.equal((await q.run(['show'])).code, 64);
      // one line of printable ASCII is read by the shell, any other goes through tr: the same value,
      // without its newlines and CRs, whatever the file (a job can rewrite it)
      const json = (text: string) => writeFileSync(join(q.root, 'jobs', 'lab', 'meta', 'spec.json'), text);
      const spec = async () => (await q.ok(['show', '--brief', 'lab'])).records[0]!.spec;
      for (const [text, value] of [
        ['{"a":"b c"}\n', '{"a":"b c"}'],
        ['{"a":"b c"}', '{"a":"b c"}'],
        ['{"a":"b\r"}\n', '{"a":"b"}'],
        ['{"a":\r\n"b"}\r\n', '{"a":"b"}'],
        ['{"a":"é"}\n', '{"a":"é"}'],
        ['{"a":"b"}\n\n', '{"a":"b"}'],
        ['{"a":\t"b"}\n', '{"a":\t"b"}'],
        ['', ''],
      ] as const) {
        json(text);
        assert.equal(await spec(), value, JSON.stringify(text));
      }
      rmSync(join(q.root, 'jobs', 'lab', 'meta', 'spec.json'));
      assert.equal(await spec(), undefined, 'no file, no key');
    });

    test('logs prints the output file, or stderr, and exits 66 for a missing job', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('out', { command: 'printf "one\\ntwo\\n"; printf "err\\n" >&2' });
      await q.waitState('out', ['finished']);
      const out = await q.run(['logs', 'out']);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.toString(), 'one\ntwo\n');
      assert.equal((await q.run(['logs', 'out', '--stderr'])).stdout.toString(), 'err\n');
      assert.equal((await q.run(['logs', 'out', '--follow'])).stdout.toString(), 'one\ntwo\n', 'an ended job: follow prints it all and ends');
      const missing = await q.run(['logs', 'nosuch']);
      assert.equal(missing.code, 66);
      assert.match(missing.stderr, /no such job: nosuch/);
      assert.equal((await q.run(['logs', 'out', '--bogus'])).code, 64);
      assert.equal((await q.run(['logs'])).code, 64);
    });

    test('logs --follow streams what the job appends while it runs and ends with the job', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // The job waits for the file `go` before its last line, so the test sees output arrive in two parts.
      await q.submit('slow', {
        command: 'echo first; while ! test -f go; do sleep 0.1; done; echo second; exit 4',
      });
      const [cmd, ...pre] = shell.argv;
      const child = spawn(cmd!, [...pre, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'logs', 'slow', '--follow'], {
        env: q.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let seen = '';
      child.stdout.on('data', (c: Buffer) => (seen += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await waitFor('the first line', () => (seen === 'first\n' ? true : undefined));
      assert.equal(child.exitCode, null, 'follow goes on while the job runs');
      writeFileSync(join(q.jobDir('slow'), 'work', 'go'), '');
      assert.equal(await exited, 0);
      assert.equal(seen, 'first\nsecond\n');
    });

    test('logs --follow prints an output file rewritten from its start, or replaced, again from its start', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // Each step waits for its gate (go1, go2, go3), created once the follower has printed the step before.
      const gate = (n: number) => `while ! test -f go${n}; do sleep 0.1; done`;
      await q.submit('rewrite', {
        command: `echo "a first line, longer than the next"; ${gate(1)}; echo short > tej.stdout; ${gate(2)}; ` +
          `echo "a new file, longer than all before it" > new; mv new tej.stdout; ${gate(3)}`,
      });
      const [cmd, ...pre] = shell.argv;
      const child = spawn(cmd!, [...pre, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'logs', 'rewrite', '--follow'], {
        env: q.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let seen = '';
      child.stdout.on('data', (c: Buffer) => (seen += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const lines = ['a first line, longer than the next\n', 'short\n', 'a new file, longer than all before it\n'];
      for (let i = 0; i < lines.length; i++) {
        const want = lines.slice(0, i + 1).join('');
        await waitFor(`the follower to print ${JSON.stringify(want)}`, () => (seen.length >= want.length ? true : undefined));
        assert.equal(seen, want);
        writeFileSync(join(q.jobDir('rewrite'), 'work', `go${i + 1}`), '');
      }
      assert.equal(await exited, 0);
      assert.equal(seen, lines.join(''));
    });

    // A starter shell plays the client's shell: it records its parent for the follower (TEJ_CALLER_PID, as
    // the client's invocation does), starts it, and exits as an SSH session does when the client leaves.
    // `late`: the follower starts only once the starter is gone (under load a client may leave before
    // the loop begins): it must not take init, its parent by then, for the client.
    for (const late of [false, true]) {
      test(`logs --follow stops when the client that started it is gone${late ? ', even before it began' : ''}, though the job runs on`, async (t) => {
        const q = await HelperQueue.setUp(shell);
        t.after(() => q.cleanUp());
        await q.submit('quiet', { command: 'exec sleep 100000' });
        const follower = [...shell.argv, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'logs', 'quiet', '--follow'];
        const holdUntilOrphaned = join(q.tmp, 'hold.sh');
        // waits until its parent (the starter) has exited: its ppid then is no longer TEJ_CALLER_PID
        writeFileSync(holdUntilOrphaned, 'while read -r _ _ _ p _ </proc/$$/stat && test "$p" = "$TEJ_CALLER_PID"; do sleep 0.05; done; exec "$@"\n');
        const pre = late ? ['/bin/sh', holdUntilOrphaned] : [];
        const pid = await startInBackground(q, ['TEJ_CALLER_PID=$$; export TEJ_CALLER_PID; "$@" >/dev/null 2>&1 & echo $!', 'starter', ...pre, ...follower]);
        await waitFor('the follower to stop', () => (processAlive(pid) ? undefined : true));
        assert.equal((await q.status('quiet')).state, 'running');
      });
    }

    // Over SSH the caller may be a login shell that waits for the follower (dash, fish, tcsh): when the
    // session ended before the follower began, that shell is an orphan, no sshd is above it, and it lives
    // on. A middle shell plays it here, under SSH_CONNECTION as sshd sets it; the follower starts only
    // once the starter (sshd's part) is gone.
    test('logs --follow in an SSH session stops when the session ended before it began, though its login shell waits', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('quiet', { command: 'exec sleep 100000' });
      const follower = [...shell.argv, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'logs', 'quiet', '--follow'];
      const hold = join(q.tmp, 'hold-middle.sh');
      // waits until the middle shell (TEJ_CALLER_PID) is no longer the starter's child
      writeFileSync(hold, 'while read -r _ _ _ p _ </proc/$TEJ_CALLER_PID/stat && test "$p" = "$STARTER"; do sleep 0.05; done; exec "$@"\n');
      const middle = 'TEJ_CALLER_PID=$$; export TEJ_CALLER_PID; "$@"; exit $?';
      const pid = await startInBackground(q, ['STARTER=$$ SSH_CONNECTION="10.0.0.1 50000 10.0.0.2 22"; export STARTER SSH_CONNECTION; /bin/sh -c "$0" middle "$@" >/dev/null 2>&1 & echo $!', middle, '/bin/sh', hold, ...follower]);
      // the middle shell ends once the follower it waits for has stopped
      await waitFor('the follower and its login shell to stop', () => (processAlive(pid) ? undefined : true));
      assert.equal((await q.status('quiet')).state, 'running');
    });

    test('resubmit runs the job again from its uploaded inputs, not from what it wrote', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('orig', {
        script: 'run.sh',
        args: ['A'],
        files: { 'run.sh': 'cat data.txt; echo "$1"; echo changed > data.txt; exit 2\n', 'data.txt': 'input\n' },
        keepInput: true,
      });
      await q.waitState('orig', ['finished']);
      assert.ok(existsSync(join(q.jobDir('orig'), 'input.tar')), 'the upload is kept');
      assert.equal(q.jobFile('orig', 'work/data.txt'), 'changed\n');
      const again = await q.ok(['resubmit', 'orig', 'orig2']);
      assert.equal(again.records[0]!.id, 'orig2');
      const rec = await q.waitState('orig2', ['finished']);
      assert.equal(rec.exit_code, '2');
      assert.equal(q.jobFile('orig2', 'work/tej.stdout'), 'input\nA\n');
      assert.equal(q.jobFile('orig2', 'resubmitted-from'), 'orig\n');
      assert.equal((await q.ok(['show', 'orig2'])).records[0]!.resubmitted_from, 'orig');
      assert.ok(existsSync(join(q.jobDir('orig2'), 'input.tar')), 'a resubmitted job can be resubmitted');

      const taken = await q.run(['resubmit', 'orig', 'orig2']);
      assert.equal(taken.code, 73, taken.stderr);
      assert.equal((await q.run(['resubmit', 'nosuch', 'x'])).code, 66);
      assert.equal((await q.run(['resubmit', 'orig', 'bad/id'])).code, 65);
      assert.equal((await q.run(['resubmit', 'orig'])).code, 64);
      // A job submitted without --keep-input (or by an older tej) has no input.tar to run again.
      await q.submit('old', { command: 'exit 0' });
      await q.waitState('old', ['finished']);
      assert.ok(!existsSync(join(q.jobDir('old'), 'input.tar')), 'without --keep-input the upload is not kept');
      const noInput = await q.run(['resubmit', 'old', 'old2']);
      assert.equal(noInput.code, 66);
      assert.match(noInput.stderr, /no saved input/);
      assert.ok(!existsSync(q.jobDir('old2')));
    });

    test('the notify command runs at the end with the job env, state and exit code; its failure changes nothing', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const notify = 'echo "state=$TEJ_JOB_STATE code=$TEJ_JOB_EXIT_CODE id=$TEJ_JOB_ID my=$MY scratch=${TEJ_SCRATCH_DIR-unset} cwd=$(pwd)"; exit 9';
      await q.submit('n1', { command: 'exit 3', env: { MY: 'v 1' }, meta: { 'notify-command': notify } });
      const rec = await q.waitState('n1', ['finished']);
      assert.equal(rec.exit_code, '3', 'the notify command failing does not change the result');
      const log = await waitFor('the notify log', () => {
        const f = join(q.jobDir('n1'), 'work', 'tej.notify.log');
        const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
        return text.endsWith('\n') ? text : undefined;
      });
      const real = (await import('node:fs')).realpathSync(q.jobDir('n1'));
      assert.equal(log, `state=finished code=3 id=n1 my=v 1 scratch=unset cwd=${real}/work\n`);

      await q.submit('n2', { command: 'sleep 100000', meta: { 'notify-command': 'echo "$TEJ_JOB_STATE $TEJ_JOB_EXIT_CODE" > notified' } });
      await q.waitState('n2', ['running']);
      await q.ok(['kill', 'n2', '--grace', '5']);
      const killed = await waitFor('the kill notification', () => {
        const f = join(q.jobDir('n2'), 'work', 'notified');
        return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
      });
      assert.equal(killed, 'killed 143\n');

      await q.submit('quiet', { command: 'exit 0' });
      await q.waitState('quiet', ['finished']);
      assert.ok(!existsSync(join(q.jobDir('quiet'), 'work', 'tej.notify.log')), 'no notify command, no log');
    });
  });
});
