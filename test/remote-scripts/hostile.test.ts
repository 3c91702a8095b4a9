// A job runs as the queue's user and may write anything that user can: the queue's config, its plugin
// directory, its own record. What the helpers run must never come from there.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PLUGIN_NAME } from '../../src/remote/user-plugins.js';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

describe('what a job can write is never run', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('plugin names follow one rule on both sides: the client\'s PLUGIN_NAME and the helpers\' is_plugin_name', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const names = ['direct', 'slurm', 'a', 'my-plugin_2', 'x'.repeat(32), 'x'.repeat(33), '', '2x', 'Direct', '-x', 'a.b', 'a b', 'a/b', '_x', 'a;b'];
      const [cmd, ...pre] = q.shell.argv;
      const script = `. "$TEJ_ROOT/lib/common.sh"; for n in "$@"; do if is_plugin_name "$n"; then echo yes; else echo no; fi; done`;
      const r = spawnSync(cmd!, [...pre, '-c', script, 'sh', ...names], { env: { ...q.env, TEJ_ROOT: q.root }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n').slice(0, -1), names.map((n) => (PLUGIN_NAME.test(n) ? 'yes' : 'no')));
      assert.deepEqual(names.map((n) => PLUGIN_NAME.test(n)), [true, true, true, true, true, false, false, false, false, false, false, false, false, false, false]);
    });

    test('each resubmit claims its new id under a fresh nonce: of two to one id, exactly one wins, the other gets 73', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('orig', { command: 'true', keepInput: true, nonce: 'OrigNonce' });
      await q.waitState('orig', ['finished']);
      const one = await q.ok(['resubmit', 'orig', 'first', 'FreshOne']);
      assert.equal(one.records[0]!.id, 'first');
      assert.equal(q.jobFile('first', 'nonce'), 'FreshOne\n', 'not the original job\'s nonce');
      assert.equal(q.jobFile('first', 'input-nonce'), 'OrigNonce\n', 'the kept upload still ends with its own marker');
      // and a resubmit of the resubmitted job works from its kept upload
      await q.ok(['resubmit', 'first', 'second', 'FreshTwo']);
      const [a, b] = await Promise.all([q.run(['resubmit', 'orig', 'same', 'RaceA']), q.run(['resubmit', 'orig', 'same', 'RaceB'])]);
      assert.deepEqual([a.code, b.code].sort(), [0, 73], `${a.stderr}\n${b.stderr}`);
      const winner = a.code === 0 ? 'RaceA' : 'RaceB';
      assert.equal(q.jobFile('same', 'nonce'), `${winner}\n`);
      assert.equal(parseReply((a.code === 0 ? a : b).stdout).records[0]!.resumed, undefined);
    });

    test("a gnu_tar= planted in the queue's config is not run by later submits", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const evil = join(q.tmp, 'evil');
      mkdirSync(evil);
      const marker = join(q.tmp, 'pwned');
      writeFileSync(join(evil, 'tar'), `#!/bin/sh\ntouch '${marker}'\nexec tar "$@"\n`);
      chmodSync(join(evil, 'tar'), 0o755);
      writeFileSync(join(q.root, 'config'), `plugin=direct\ngnu_tar=${join(evil, 'tar')}\n`);
      await q.submit('after', { command: 'echo hi' });
      await q.waitState('after', ['finished']);
      assert.equal(existsSync(marker), false, 'the planted tar ran');
    });

    test('a FIFO a job made of its record files blocks no status, of one job or of many', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 9 }, (_, i) => `e${i}`); // 8 or more: read by awk
      for (const id of ids) {
        mkdirSync(join(q.jobDir(id), 'meta'), { recursive: true });
        for (const [name, value] of Object.entries({ plugin: 'direct', 'native-id': '42', submitted: '100', start: '101', end: '102', 'exit-code': '0' })) {
          writeFileSync(join(q.jobDir(id), name), `${value}\n`);
        }
      }
      rmSync(join(q.jobDir('e4'), 'end'));
      assert.equal(spawnSync('mkfifo', [join(q.jobDir('e4'), 'end')]).status, 0);
      symlinkSync('end', join(q.jobDir('e4'), 'rerun-as'));
      for (const asked of [['e4'], ids]) {
        // A reader blocked on the FIFO waits for a writer: after a minute the test writes into it
        // until the reader is done, so that a failure ends instead of hanging.
        let writer: ChildProcess | undefined;
        const unblock = setTimeout(() => {
          writer = spawn('sh', ['-c', 'while :; do echo 999 >"$1"; done', 'sh', join(q.jobDir('e4'), 'end')], { stdio: 'ignore' });
        }, 60_000);
        const r = await q.run(['status', ...asked]).finally(() => (clearTimeout(unblock), writer?.kill()));
        const blocked = writer !== undefined;
        assert.equal(blocked, false, `status of ${asked.length} job(s) blocked on the FIFO`);
        assert.equal(r.code, 0, r.stderr);
        const e4 = parseReply(r.stdout).records.find((x) => x.id === 'e4')!;
        assert.deepEqual([e4.state, e4.start, e4.end, e4.rerun_as], ['finished', '101', undefined, undefined]);
      }
    });

    test('a plugin planted in queues/ (not in MANIFEST) is never sourced, from config or from a job', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      q.listNewPlugins = false;
      const marker = join(q.tmp, 'pwned');
      writeFileSync(
        join(q.root, 'queues', 'evil.sh'),
        `touch '${marker}'\nqueue_check() { return 0; }\nqueue_submit() { echo 1; }\nqueue_state() { echo running; }\n`,
      );
      await q.submit('victim', { command: 'echo hi' });
      await q.waitState('victim', ['finished']);
      writeFileSync(join(q.root, 'config'), 'plugin=evil\n');
      const r = await q.run(['submit', 'planted', 'N0nce'], { input: await jobTar({ command: 'echo hi' }) });
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /plugin 'evil' is not one the client installed/);
      // a job that names the planted plugin in its own record: asked about, it is lost, nothing sourced
      writeFileSync(join(q.root, 'config'), 'plugin=direct\n');
      await q.submit('renamed', { command: 'sleep 1' });
      writeFileSync(join(q.jobDir('renamed'), 'plugin'), 'evil\n');
      const status = await q.ok(['status', 'renamed', 'victim']);
      assert.equal(status.records[1]!.state, 'finished');
      assert.equal(existsSync(marker), false, 'the planted plugin was sourced');
    });
  });
});
