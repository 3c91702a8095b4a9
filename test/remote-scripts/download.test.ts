// download: one tar entry named by its physical basename; every path that leaves the job is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type JobFixture, tarEntries } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const JOB: JobFixture = {
  command: 'echo out; echo err >&2',
  files: {
    'a.txt': 'A',
    '-dash.txt': 'D',
    'dir/b.txt': 'B',
    'dir/sub/c.txt': 'C',
    'dir/passwd-link': { symlink: '/etc/passwd' },
    'dir/up-link': { symlink: '../a.txt' },
    'alias.txt': { symlink: 'dir/b.txt' },
    'chain.txt': { symlink: 'alias.txt' },
    'dirlink': { symlink: 'dir/sub' },
    'out-link': { symlink: '/etc/passwd' },
    'etc-link': { symlink: '/etc' },
    'rel-out': { symlink: '../../../..' },
    'jobdir-link': { symlink: '..' },
    'dangling': { symlink: 'nowhere.txt' },
    'loop1': { symlink: 'loop2' },
    'loop2': { symlink: 'loop1' },
  },
};

/** A PATH whose `tar` is busybox's (which takes names literally and has no --no-unquote). */
function busyboxTarPath(q: HelperQueue): string {
  const bin = join(q.tmp, 'busybox-bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync('/usr/bin/busybox', join(bin, 'tar'));
  return `${bin}:${process.env.PATH}`;
}

/** A PATH whose `tar` is GNU tar exiting 1 with "file changed as we read it" after a whole archive. */
function changingTarPath(q: HelperQueue): string {
  const bin = join(q.tmp, 'changing-bin');
  mkdirSync(bin, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(bin, 'tar'), `#!/bin/sh\n"${real}" "$@" || exit\ncase " $* " in *" -cf "*) echo "tar: x: file changed as we read it" >&2; exit 1 ;; esac\n`);
  chmodSync(join(bin, 'tar'), 0o755);
  return `${bin}:${process.env.PATH}`;
}

// Names a job makes that GNU tar would decode: \056\056\057 is ../, \t a tab.
const ESCAPED = '\\056\\056\\057\\056\\056\\057\\056\\056\\057VERSION';

describe('download', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('a file comes as a tar stream with one entry named by its basename, and nothing else', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dl', JOB);
      for (const [path, name, content] of [
        ['a.txt', 'a.txt', 'A'],
        ['dir/sub/c.txt', 'c.txt', 'C'],
        ['./dir//b.txt', 'b.txt', 'B'],
        ['-dash.txt', './-dash.txt', 'D'],
        ['alias.txt', 'b.txt', 'B'],
        ['chain.txt', 'b.txt', 'B'],
        ['dir/up-link', 'a.txt', 'A'],
      ]) {
        const r = await q.run(['download', 'dl', path!]);
        assert.equal(r.code, 0, `${path}: ${r.stderr}`);
        assert.notEqual(r.stdout.subarray(0, 10).toString(), 'tej-proto=', 'no protocol lines');
        const entries = await tarEntries(r.stdout);
        assert.deepEqual(entries.map((e) => [e.name, e.type, e.content]), [[name, 'file', content]], path);
      }
    });

    test('names with backslashes are sent literally, under GNU tar and busybox tar', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('bs', { command: 'true', files: { [ESCAPED]: 'decoy', 'x\\ty': 'not a tab', 'a\\b': 'backslash', 'd\\056/in.txt': 'in' } });
      for (const [tarName, env] of [['GNU tar', {}], ['busybox tar', { PATH: busyboxTarPath(q) }]] as const) {
        for (const [path, content] of [[ESCAPED, 'decoy'], ['x\\ty', 'not a tab'], ['a\\b', 'backslash']]) {
          const r = await q.run(['download', 'bs', path!], { env });
          assert.equal(r.code, 0, `${tarName} ${path}: ${r.stderr}`);
          assert.deepEqual((await tarEntries(r.stdout)).map((e) => [e.name, e.content]), [[path, content]], `${tarName} ${path}`);
        }
        const dir = await tarEntries((await q.run(['download', 'bs', 'd\\056'], { env })).stdout);
        assert.deepEqual(dir.map((e) => e.name.replace(/\/$/, '')), ['d\\056', 'd\\056/in.txt'], tarName);
      }
    });

    test('a queue whose path holds a backslash takes submits and downloads', async (t) => {
      const q = await HelperQueue.setUp(shell, { name: 'q\\tx\\056' });
      t.after(() => q.cleanUp());
      await q.submit('bq', { command: 'echo ran > ran.txt', files: { 'in.txt': 'in' } });
      await q.waitState('bq', ['finished']);
      const r = await q.run(['download', 'bq', 'ran.txt']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((await tarEntries(r.stdout)).map((e) => [e.name, e.content]), [['ran.txt', 'ran\n']]);
    });

    test("GNU tar's exit 1 for a file that changed while it was read is success, with what was read", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('ch', { command: 'true', files: { 'grow.log': 'line\n' } });
      const r = await q.run(['download', 'ch', 'grow.log'], { env: { PATH: changingTarPath(q) } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((await tarEntries(r.stdout)).map((e) => [e.name, e.content]), [['grow.log', 'line\n']]);
    });

    test('under GNU tar a file over 8 MiB comes in records of 128 KiB, a small one in the default 10 KiB', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('rec', { command: 'true', files: { 'small.txt': 'S' } });
      const big = Buffer.from(Array.from({ length: (9 << 20) / 9 }, (_, i) => `${String(i).padStart(8, '0')}\n`).join(''));
      writeFileSync(join(q.jobDir('rec'), 'work', 'big.bin'), big);
      const r = await q.run(['download', 'rec', 'big.bin']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length % (128 << 10), 0, `${r.stdout.length} bytes: not whole records of 128 KiB`);
      const entries = await tarEntries(r.stdout);
      assert.deepEqual(entries.map((e) => [e.name, e.content.length]), [['big.bin', big.length]]);
      assert.ok(entries[0]!.content === big.toString(), 'the content as it is on the host');
      const small = await q.run(['download', 'rec', 'small.txt']);
      assert.equal(small.code, 0, small.stderr);
      assert.equal(small.stdout.length, 10 << 10, 'one record of tar\'s default size: no padding to 128 KiB');
    });

    test('a directory comes whole, its symlinks archived as symlinks, never followed', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dl', JOB);
      const entries = await tarEntries((await q.run(['download', 'dl', 'dir/'])).stdout);
      const byName = Object.fromEntries(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
      assert.deepEqual(Object.keys(byName).sort(), ['dir', 'dir/b.txt', 'dir/passwd-link', 'dir/sub', 'dir/sub/c.txt', 'dir/up-link']);
      assert.equal(byName['dir/passwd-link']!.type, 'symlink');
      assert.equal(byName['dir/passwd-link']!.linkname, '/etc/passwd');
      assert.equal(byName['dir/up-link']!.linkname, '../a.txt');
      assert.equal(byName['dir/sub/c.txt']!.content, 'C');
      // A symlink to a directory inside the job: the directory, under its physical name.
      const sub = await tarEntries((await q.run(['download', 'dl', 'dirlink'])).stdout);
      assert.deepEqual(sub.map((e) => e.name.replace(/\/$/, '')).sort(), ['sub', 'sub/c.txt']);
      const work = await tarEntries((await q.run(['download', 'dl', '.'])).stdout);
      assert.ok(work.some((e) => e.name === 'work/a.txt'), 'the whole work dir, named work');
    });

    test('paths that are empty, absolute, hold .. or resolve outside the job exit 65', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dl', JOB);
      for (const path of ['', '/etc/passwd', '..', '../stdout', 'dir/../a.txt', 'dir/..', 'out-link', 'etc-link', 'etc-link/passwd', 'etc-link/nosuch', 'rel-out', 'loop1']) {
        const r = await q.run(['download', 'dl', path]);
        assert.equal(r.code, 65, `'${path}' exited ${r.code}: ${r.stderr}`);
        assert.equal(r.stdout.length, 0, `'${path}' printed nothing`);
        assert.match(r.stderr, /^tej-remote: /m);
      }
    });

    test('a path that does not exist, a dangling symlink and a missing job exit 66', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dl', JOB);
      for (const [args, code] of [
        [['download', 'dl', 'nosuch.txt'], 66],
        [['download', 'dl', 'nodir/x'], 66],
        [['download', 'dl', 'a.txt/x'], 66],
        [['download', 'dl', 'dangling'], 66],
        [['download', 'nosuch', 'a.txt'], 66],
        [['download', '../x', 'a.txt'], 65],
        [['download', 'dl'], 64],
        [['download', 'dl', 'a.txt', 'b.txt'], 64],
      ] as const) {
        const r = await q.run([...args]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout.length, 0);
      }
    });

    test('the job\'s default output files are in work/, and symlinks may reach the job directory', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dl', JOB);
      await q.waitState('dl', ['finished']);
      const out = await tarEntries((await q.run(['download', 'dl', 'tej.stdout'])).stdout);
      assert.deepEqual(out.map((e) => [e.name, e.content]), [['tej.stdout', 'out\n']]);
      const err = await tarEntries((await q.run(['download', 'dl', 'tej.stderr'])).stdout);
      assert.deepEqual(err.map((e) => [e.name, e.content]), [['tej.stderr', 'err\n']]);
      const dashed = await tarEntries((await q.run(['download', '--', 'dl', '-dash.txt'])).stdout);
      assert.deepEqual(dashed.map((e) => e.name), ['./-dash.txt']);
      // A symlink in work/ to the job directory stays inside the job.
      const viaLink = await tarEntries((await q.run(['download', 'dl', 'jobdir-link/plugin'])).stdout);
      assert.deepEqual(viaLink.map((e) => [e.name, e.content]), [['plugin', 'direct\n']]);
      // A queue reached through a symlink: the job's physical directory is the boundary.
      symlinkSync(q.root, join(q.tmp, 'qlink'));
      const viaQueueLink = (path: string) =>
        spawnSync(shell.argv[0]!, [...shell.argv.slice(1), join(q.tmp, 'qlink', 'tej-remote'), '--proto', '1', 'download', 'dl', path], { env: q.env });
      const inside = viaQueueLink('jobdir-link/plugin');
      assert.equal(inside.status, 0, inside.stderr.toString());
      assert.deepEqual((await tarEntries(inside.stdout)).map((e) => e.name), ['plugin']);
      assert.equal(viaQueueLink('out-link').status, 65);
    });
  });
});
