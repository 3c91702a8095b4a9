// The exec helper under every shell of the matrix, and on a busybox userland: the markers, then the
// command's own output, stdin and status, in the job's work/ with its environment; refusals before the
// markers; nothing a job planted in its directory holds it up or steers it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell } from './_shells.js';

const MARK = 'tej-stream-begins\n';

const VARIANTS = [
  { title: 'with the host tools', bare: false },
  { title: 'on a busybox userland', bare: true },
] as const;

eachShell({ variants: VARIANTS }, (shell, variant) => {
  const setUp = async () => HelperQueue.setUp(shell, { bare: variant.bare });

  test('runs the command in work/ with the job environment; its output, stdin and status follow the markers', { timeout: 60_000 }, async (t) => {
    const q = await setUp();
    t.after(() => q.cleanUp());
    await q.submit('e1', { command: 'true', env: { GREETING: "it's $x" } });
    await q.waitState('e1', ['finished']);
    const r = await q.run(['exec', 'e1', 'sh', '-c', 'pwd -P; env | sed -n "s/=.*//; /^TEJ_/p" | sort | tr "\\n" " "; echo; printf "%s|%s|" "$TEJ_JOB_ID" "$GREETING"; cat; echo oops >&2; exit 3', 'arg0'], { input: Buffer.from('in\n') });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr, `${MARK}oops\n`);
    const out = r.stdout.toString();
    assert.ok(out.startsWith(MARK), out);
    const [cwd, names, rest] = out.slice(MARK.length).split('\n');
    assert.match(cwd!, /\/jobs\/e1\/work$/);
    // as the job sees them: the documented TEJ_ names only, none of the helper's own (TEJ_ROOT, TEJ_SHELL, ...)
    assert.equal(names, 'TEJ_JOB_DIR TEJ_JOB_ID TEJ_JOB_NPROC TEJ_QUEUE ');
    assert.equal(rest, "e1|it's $x|in");
  });

  test('--shell: the passwd entry\'s login shell when usable, else /bin/sh, interactive, after one marker on stdout', { timeout: 60_000 }, async (t) => {
    const q = await setUp();
    t.after(() => q.cleanUp());
    await q.submit('e7', { command: 'true' });
    await q.waitState('e7', ['finished']);
    assert.equal((await q.run(['exec', '--shell'])).code, 64);
    assert.equal((await q.run(['exec', '--shell', 'e7', 'extra'])).code, 64);
    // getent answers with the login shell under test; stdin is not a terminal here, so stty does nothing
    const fake = join(q.tmp, 'fake-getent');
    mkdirSync(fake);
    for (const [login, runs] of [['/bin/dash', '/bin/dash'], ['/usr/sbin/nologin', '/bin/sh'], ['dash', '/bin/sh'], ['/nonexistent/sh', '/bin/sh']] as const) {
      writeFileSync(join(fake, 'getent'), `#!/bin/sh\necho 'u:x:0:0:it is:/root:${login}'\n`, { mode: 0o755 });
      const r = await q.run(['exec', '--shell', 'e7'], { input: Buffer.from('echo "$0|$TEJ_JOB_ID"; pwd -P; exit 4\n'), env: { PATH: `${fake}:${q.env.PATH}` } });
      assert.equal(r.code, 4, `${login}: ${r.stderr}`);
      const out = r.stdout.toString();
      assert.ok(out.startsWith(MARK), out);
      const [shown, cwd] = out.slice(MARK.length).split('\n');
      assert.equal(shown, `${runs}|e7`, login);
      assert.match(cwd!, /\/jobs\/e7\/work$/);
      assert.ok(!r.stderr.includes(MARK.trim()), `no marker on stderr: ${r.stderr}`);
    }
  });

  test('refuses before the markers: no command (64), no such job (66), work/ gone or a symbolic link (66), a job being submitted (75)', { timeout: 60_000 }, async (t) => {
    const q = await setUp();
    t.after(() => q.cleanUp());
    const noCommand = await q.run(['exec', 'e1']);
    assert.equal(noCommand.code, 64);
    const missing = await q.run(['exec', 'nosuch', 'true']);
    assert.equal(missing.code, 66);
    await q.submit('e2', { command: 'true' });
    await q.waitState('e2', ['finished']);
    const work = join(q.jobDir('e2'), 'work');
    rmSync(work, { recursive: true });
    mkdirSync(join(q.tmp, 'elsewhere'));
    symlinkSync(join(q.tmp, 'elsewhere'), work);
    const linked = await q.run(['exec', 'e2', 'touch', 'steered']);
    assert.equal(linked.code, 66, linked.stderr);
    assert.equal(linked.stdout.length, 0);
    assert.equal(spawnSync('ls', [join(q.tmp, 'elsewhere')], { encoding: 'utf8' }).stdout, '');
    // a job whose submit is still running (its submitter: a live process, this test's own)
    mkdirSync(join(q.jobDir('e3'), 'work'), { recursive: true });
    mkdirSync(join(q.jobDir('e3'), 'meta'));
    writeFileSync(join(q.jobDir('e3'), 'submitter'), `${process.pid}\n`);
    const submitting = await q.run(['exec', 'e3', 'true']);
    assert.equal(submitting.code, 75, submitting.stderr);
    assert.equal(submitting.stdout.length, 0);
  });

  test('a FIFO or a symbolic link a job put in meta/ is not read, and a bad name is left out', { timeout: 60_000 }, async (t) => {
    const q = await setUp();
    t.after(() => q.cleanUp());
    await q.submit('e4', { command: 'true', env: { KEPT: 'kept' } });
    await q.waitState('e4', ['finished']);
    const meta = join(q.jobDir('e4'), 'meta');
    for (const fifo of [join(meta, 'env', 'FIFO'), join(meta, 'nproc')]) assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    writeFileSync(join(q.tmp, 'secret'), 'secret\n');
    symlinkSync(join(q.tmp, 'secret'), join(meta, 'env', 'LINKED'));
    writeFileSync(join(meta, 'env', 'bad-name'), 'x');
    const r = await q.run(['exec', 'e4', 'sh', '-c', 'echo "${KEPT-unset}|${FIFO-unset}|${LINKED-unset}|$TEJ_JOB_NPROC"']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^tej-stream-begins\nkept\|unset\|unset\|[1-9][0-9]*\n$/);
  });

  test("the job's PATH and TEJ_ names in meta/env reach the command, not the helper's own steps", { timeout: 60_000 }, async (t) => {
    const q = await setUp();
    t.after(() => q.cleanUp());
    await q.submit('e5', { command: 'true', env: { PATH: '/nonexistent' } });
    await q.submit('e6', { command: 'true' });
    await q.waitState('e5', ['finished']);
    await q.waitState('e6', ['finished']);
    writeFileSync(join(q.jobDir('e5'), 'meta', 'env', 'TEJ_JOB_ID'), 'forged\n');
    const show = 'echo "$TEJ_JOB_ID $TEJ_JOB_NPROC $PATH"';
    const forged = await q.run(['exec', 'e5', '/bin/sh', '-c', show]);
    const plain = await q.run(['exec', 'e6', '/bin/sh', '-c', show]);
    assert.equal(forged.code, 0, forged.stderr);
    assert.equal(plain.code, 0, plain.stderr);
    const [, nproc] = plain.stdout.toString().slice(MARK.length).split(' ');
    // the nproc the helper found with its own PATH (getconf), the job's PATH for the command
    assert.equal(forged.stdout.toString(), `${MARK}e5 ${nproc} /nonexistent\n`);
  });
});
