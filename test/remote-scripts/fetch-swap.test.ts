// fetch checks each path, then sends it: a job that swaps a checked directory (or file) for a symlink
// in between must not get tar to follow it. TEJ_TEST_FETCH_PAUSE holds fetch at that point (FIFOs: an
// event, no timing) while the test makes the swap; what is sent is the job's own file, or nothing.
// The stage fetch links the files into is removed, and so is one a fetch that is gone left.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tarEntries } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

describe('fetch against a swap after its check', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    for (const bare of [false, true]) {
      test(`a directory or file swapped for a symlink is not followed (${bare ? 'busybox' : 'GNU'} tools)`, async (t) => {
        const q = await HelperQueue.setUp(shell, { bare });
        t.after(() => q.cleanUp());
        await q.submit('sw', { command: 'true', files: { 'dir/f.txt': 'JOB', 'g.txt': 'G', 'h.txt': 'H' } });
        await q.waitState('sw', ['finished']);
        const secret = join(q.tmp, 'secret');
        mkdirSync(secret);
        writeFileSync(join(secret, 'f.txt'), 'SECRET');
        const pause = join(q.tmp, 'pause');
        mkdirSync(pause);
        for (const f of ['checked', 'go']) assert.equal(spawnSync('mkfifo', [join(pause, f)]).status, 0);

        // a stage left by a fetch that is gone (no such pid): removed by the next fetch
        mkdirSync(join(q.jobDir('sw'), 'fetch.2147483646.1', 'work'), { recursive: true });
        writeFileSync(join(q.jobDir('sw'), 'fetch.2147483646.1', 'work', 'old.ckpt'), 'OLD');

        const fetch = q.run(['fetch', 'sw', 'dir/f.txt', 'g.txt', 'h.txt'], { env: { TEJ_TEST_FETCH_PAUSE: pause } });
        assert.equal((await readFile(join(pause, 'checked'), 'utf8')).trim(), 'checked');
        const work = join(q.jobDir('sw'), 'work');
        renameSync(join(work, 'dir'), join(work, 'dir.real'));
        symlinkSync(secret, join(work, 'dir'));
        renameSync(join(work, 'g.txt'), join(work, 'g.old'));
        symlinkSync(join(secret, 'f.txt'), join(work, 'g.txt'));
        await writeFile(join(pause, 'go'), 'go\n');

        const r = await fetch;
        assert.equal(r.code, 0, r.stderr);
        const entries = await tarEntries(r.stdout);
        assert.deepEqual(
          entries.map((e) => [e.name, e.type, e.content]),
          [
            ['work/dir/f.txt', 'file', 'JOB'],
            ['work/g.txt', 'file', 'G'],
            ['work/h.txt', 'file', 'H'],
          ],
          'the files as they were checked: never the symlinks, never what they point to',
        );
        assert.deepEqual(
          spawnSync('sh', ['-c', `ls -a "${q.jobDir('sw')}" | grep fetch || true`], { encoding: 'utf8' }).stdout,
          '',
          "fetch's own stage is removed, and the dead one's",
        );
      });
    }
  });
});
