// download --watch, --update and patterns, end to end (issue 15): the built CLI against a real OpenSSH
// host. A job that writes files over time waits for files the test creates (events, not sleeps);
// --watch fetches each file while the job runs and ends with the job; --update sends only what changed
// (counted in bytes); patterns with ** and hostile names; nothing is written through a local symlink.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

/** Every file (not directory) under `dir`, sorted: a download's temporary files would be among them. */
const files = (dir: string) => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => !lstatSync(join(dir, f)).isDirectory()).sort();
const jsonLines = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('download --watch, --update and patterns', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], cwd?: string) => tej(args, { home: sshHost.home, cwd, timeoutMs: 120_000 });
  const finished = (id: string) => waitFor(id, () => run(['status', 'h1', '--id', id]), (s) => s.code === 0, 120_000);
  const inJob = async (id: string, script: string) => {
    const r = await sshHost.lab.execAs('h1', 'alice', `cd ~/.tej/jobs/${id}/work && ${script}`);
    assert.equal(r.code, 0, r.stderr);
  };
  const appears = (path: string) => waitFor(path, () => existsSync(path), (x) => x, 120_000);

  it('--watch fetches files as the job writes them and ends with the job, after one last pass', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'watch'), {
      'start.sh': 'echo first > a.txt\nwhile ! test -f go1; do sleep 0.1; done\necho second > b.txt\nwhile ! test -f go2; do sleep 0.1; done\necho third > c.txt\n',
    });
    ok(await run(['submit', 'h1', '--id', 'w1', dir]));
    const cwd = await sshHost.lab.makeTmpDir('tej-watch-');
    const watch = startTej(['download', 'h1', '--id', 'w1', '--json', '--watch', '1', '*.txt'], { home: sshHost.home, cwd });
    await appears(join(cwd, 'a.txt'));
    await inJob('w1', 'touch go1');
    await appears(join(cwd, 'b.txt'));
    // the job still waits for go2: the watch goes on, and c.txt cannot exist yet
    assert.equal(watch.child.exitCode, null);
    assert.equal(existsSync(join(cwd, 'c.txt')), false);
    await inJob('w1', 'touch go2');
    const r = await watch.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(['a.txt', 'b.txt', 'c.txt'].map((f) => readFileSync(join(cwd, f), 'utf8')), ['first\n', 'second\n', 'third\n']);
    const passes = jsonLines(r.stdout);
    const last = passes.at(-1)!;
    assert.equal(last.final, true);
    assert.equal(last.state, 'finished');
    assert.equal(passes.filter((p) => p.final).length, 1);
    // each file went once, however many passes there were (files written within the second of a
    // listing go once more, see src/download/sync.ts: at most twice)
    const sent = passes.reduce((n, p) => n + (p.downloaded_files as number), 0);
    assert.ok(sent >= 3 && sent <= 6, r.stdout);
    assert.deepEqual(files(cwd), ['a.txt', 'b.txt', 'c.txt']); // the go files match no spec; no temporary file left
  });

  it('--update sends only the files whose size or mtime changed; --checksum only those whose content changed', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'update'), { 'start.sh': 'head -c 1000 /dev/zero > a.bin\nhead -c 2000 /dev/zero > b.bin\nmkdir sub\nhead -c 3000 /dev/zero > sub/c.bin\n' });
    ok(await run(['submit', 'h1', '--id', 'u1', dir]));
    await finished('u1');
    // mtimes in the past: none within the second of a listing (those go twice, by design)
    await inJob('u1', 'touch -d @1700000000 a.bin b.bin sub/c.bin tej.stdout tej.stderr');
    const cwd = await sshHost.lab.makeTmpDir('tej-update-');
    const update = async () => jsonLines(ok(await run(['download', 'h1', '--id', 'u1', '--update', '--json', '**/*.bin'], cwd)))[0]!;
    let p = await update();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes, p.unchanged_files], [3, 6000, 0]);
    p = await update();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes, p.unchanged_files, p.unchanged_bytes], [0, 0, 3, 6000]);
    await inJob('u1', 'head -c 2500 /dev/zero | tr "\\0" x > b.bin && touch -d @1700000100 b.bin');
    p = await update();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes, p.unchanged_files, p.unchanged_bytes], [1, 2500, 2, 4000]);
    assert.equal(readFileSync(join(cwd, 'b.bin'), 'utf8'), 'x'.repeat(2500));
    // the same size, another mtime: sent again; with --checksum only when the content differs
    await inJob('u1', 'touch -d @1700000200 a.bin');
    p = await update();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes], [1, 1000]);
    const checksum = async () => jsonLines(ok(await run(['download', 'h1', '--id', 'u1', '--checksum', '--json', '**/*.bin'], cwd)))[0]!;
    await inJob('u1', 'touch -d @1700000300 a.bin sub/c.bin');
    p = await checksum();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes, p.unchanged_files], [0, 0, 3]);
    p = await update(); // the copies took the job's mtimes: unchanged on size and mtime alone
    assert.deepEqual([p.downloaded_files, p.unchanged_files], [0, 3]);
    await inJob('u1', 'printf y | dd of=sub/c.bin bs=1 seek=10 conv=notrunc 2>/dev/null && touch -d @1700000400 sub/c.bin');
    p = await checksum();
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes, p.unchanged_files], [1, 3000, 2]);
    assert.equal(readFileSync(join(cwd, 'sub/c.bin'), 'utf8')[10], 'y');
  });

  it('patterns: ** at any depth, classes, escapes, hostile names, links never followed, a pattern matching nothing', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'globs'), {
      'start.sh': [
        'mkdir -p ckpt/sub data/deep',
        'echo 1 > ckpt/1.pt; echo 2 > ckpt/2.pt; echo 3 > ckpt/sub/3.pt',
        'echo x > data/x.csv; echo y > data/deep/y.csv; echo t > top.csv',
        "printf n > \"$(printf 'new\\nline.csv')\"; echo d > ./-dash.csv; echo s > 'a*b.csv'; echo b > '[x].csv'",
        'ln -s /etc/passwd evil.csv; ln -s /etc outside',
      ].join('\n') + '\n',
    });
    ok(await run(['submit', 'h1', '--id', 'g1', dir]));
    await finished('g1');
    const get = async (...specs: string[]) => {
      const cwd = await sshHost.lab.makeTmpDir('tej-glob-');
      ok(await run(['download', 'h1', '--id', 'g1', '--', ...specs], cwd));
      return { cwd, got: files(cwd) };
    };
    assert.deepEqual((await get('**/*.csv')).got, ['-dash.csv', '[x].csv', 'a*b.csv', 'data/deep/y.csv', 'data/x.csv', 'new\nline.csv', 'top.csv']);
    assert.deepEqual((await get('ckpt/*.pt')).got, ['ckpt/1.pt', 'ckpt/2.pt']);
    assert.deepEqual((await get('ckpt/**:got/')).got, ['got/ckpt/1.pt', 'got/ckpt/2.pt', 'got/ckpt/sub/3.pt']);
    assert.deepEqual((await get('a\\*b.csv', '[[]x].csv', '-*')).got, ['-dash.csv', '[x].csv', 'a*b.csv']);
    // tej wait --download takes patterns too
    const waited = await sshHost.lab.makeTmpDir('tej-glob-');
    ok(await run(['wait', 'h1', '--id', 'g1', '--download', 'ckpt/*.pt'], waited));
    assert.deepEqual(files(waited), ['ckpt/1.pt', 'ckpt/2.pt']);
    // escaped wildcards name the file itself: a plain download, stdout included
    assert.equal(ok(await run(['download', 'h1', '--id', 'g1', 'a\\*b.csv:', '\\[x].csv:'])), 's\nb\n');
    const nl = await get('new?line.csv');
    assert.equal(readFileSync(join(nl.cwd, 'new\nline.csv'), 'utf8'), 'n');

    // nothing matches: exit 66 naming the pattern, once the others' files are written
    const cwd = await sshHost.lab.makeTmpDir('tej-glob-');
    const none = await run(['download', 'h1', '--id', 'g1', 'top.csv', 'nope/*.x', 'outside/*'], cwd);
    assert.equal(none.code, 66, none.stderr);
    assert.match(none.stderr, /no file in job g1 matches 'nope\/\*\.x', 'outside\/\*'/);
    assert.deepEqual(files(cwd), ['top.csv']);

    // a local symlink below the destination is never written through
    const local = await sshHost.lab.makeTmpDir('tej-glob-');
    const elsewhere = await sshHost.lab.makeTmpDir('tej-elsewhere-');
    symlinkSync(elsewhere, join(local, 'data'));
    mkdirSync(join(local, 'ckpt'));
    const r = await run(['download', 'h1', '--id', 'g1', '**/*.csv', 'ckpt/*.pt'], local);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 2 files that would be written through a symlink/);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.ok(existsSync(join(local, 'ckpt/1.pt')) && existsSync(join(local, 'top.csv')));
  });

  it("--watch of an array's tasks ('ID/*'): each task's files into ./ID/N/; the array's own id is refused", async () => {
    const dir = await makeJob(join(sshHost.jobs, 'arr'), { 'start.sh': 'mkdir -p res && echo "task $TEJ_TASK_INDEX" > res/r.csv\n' });
    ok(await run(['submit', 'h1', '--id', 'wa', '--param', 'k=1,2', dir]));
    const cwd = await sshHost.lab.makeTmpDir('tej-arr-');
    ok(await run(['download', 'h1', '--id', 'wa/*', '--watch', '1', 'res/*.csv'], cwd));
    assert.deepEqual(files(cwd), ['wa/0/res/r.csv', 'wa/1/res/r.csv']);
    assert.equal(readFileSync(join(cwd, 'wa/1/res/r.csv'), 'utf8'), 'task 1\n');
    const whole = await run(['download', 'h1', '--id', 'wa', '--update', 'res'], cwd);
    assert.equal(whole.code, 65);
    assert.match(whole.stderr, /wa is an array: download from a task/);
  });

  it('Ctrl-C between passes stops at once and leaves no temporary file', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'int'), { 'start.sh': 'echo one > one.txt\nwhile ! test -f go; do sleep 0.1; done\n' });
    ok(await run(['submit', 'h1', '--id', 'i1', dir]));
    const cwd = await sshHost.lab.makeTmpDir('tej-int-');
    const watch = startTej(['download', 'h1', '--id', 'i1', '--watch', '1', 'one.txt'], { home: sshHost.home, cwd });
    await appears(join(cwd, 'one.txt'));
    watch.child.kill('SIGINT');
    const r = await watch.done;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(files(cwd), ['one.txt']);
    await inJob('i1', 'touch go');
  });
});

describe('download --update and patterns on a busybox userland (stat -c, find and tar of busybox)', () => {
  const sshHost = useSshHost({ user: 'dave', setup: true });
  const run = (args: string[], cwd?: string) => tej(args, { home: sshHost.home, cwd, timeoutMs: 120_000 });

  it('lists, fetches and updates as on GNU tools', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'bb'), { 'start.sh': "mkdir -p d/e && echo a > d/a.csv && echo b > d/e/b.csv && printf n > \"$(printf 'n\\nl.csv')\"\n" });
    ok(await run(['submit', 'h1', '--id', 'bb1', dir]));
    await waitFor('bb1', () => run(['status', 'h1', '--id', 'bb1']), (s) => s.code === 0, 120_000);
    const t = await sshHost.lab.execAs('h1', 'dave', 'cd ~/.tej/jobs/bb1/work && touch -d @1700000000 d/a.csv d/e/b.csv n*');
    assert.equal(t.code, 0, t.stderr);
    const cwd = await sshHost.lab.makeTmpDir('tej-bb-');
    let p = jsonLines(ok(await run(['download', 'h1', '--id', 'bb1', '--update', '--json', '**/*.csv'], cwd)))[0]!;
    assert.deepEqual([p.downloaded_files, p.downloaded_bytes], [3, 5]);
    assert.deepEqual(files(cwd), ['d/a.csv', 'd/e/b.csv', 'n\nl.csv']);
    p = jsonLines(ok(await run(['download', 'h1', '--id', 'bb1', '--checksum', '--json', '**/*.csv'], cwd)))[0]!;
    assert.deepEqual([p.downloaded_files, p.unchanged_files], [0, 3]);
  });
});
