// files and fetch, the helpers of download --update/--watch: the listing holds the job's regular files
// only (no symlink, nothing behind one), names of any byte NUL-ended; fetch sends only regular files
// reached through no symlink, named work/PATH, and --sha256 answers one line per path. Under GNU tools
// and under a busybox-only userland.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseListing } from '../../src/download/listing.js';
import { type JobFixture, tarEntries } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const JOB: JobFixture = {
  command: 'true',
  files: {
    'a.txt': 'A',
    '-dash.txt': 'DD',
    'new\nline.txt': 'NL',
    'dir/b.txt': 'BBB',
    'dir/sub/c.txt': 'C',
    'alias.txt': { symlink: 'dir/b.txt' },
    'dirlink': { symlink: 'dir/sub' },
    'etc-link': { symlink: '/etc' },
    'out-link': { symlink: '/etc/passwd' },
  },
};
const LISTED = ['-dash.txt', 'a.txt', 'dir/b.txt', 'dir/sub/c.txt', 'new\nline.txt'];

describe('files and fetch', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    for (const bare of [false, true]) {
      const tools = bare ? 'busybox tools' : 'GNU tools';
      test(`files lists the regular files with sizes, and the state first (${tools})`, async (t) => {
        const q = await HelperQueue.setUp(shell, { bare });
        t.after(() => q.cleanUp());
        await q.submit('l1', JOB);
        await q.waitState('l1', ['finished']);
        const r = await q.run(['files', 'l1']);
        assert.equal(r.code, 0, r.stderr);
        const listing = parseListing(r.stdout, 'test');
        assert.equal(listing.state, 'finished');
        const mine = listing.files.filter((f) => !f.path.startsWith('tej.')).sort((x, y) => (x.path < y.path ? -1 : 1));
        assert.deepEqual(mine.map((f) => [f.path, f.size]), LISTED.map((p) => [p, (JOB.files![p] as string).length]));
        assert.ok(mine.every((f) => f.mtime > 1_600_000_000 && f.mtime <= listing.now + 1));
      });

      test(`fetch sends only regular files reached through no symlink; --sha256 a line per path (${tools})`, async (t) => {
        const q = await HelperQueue.setUp(shell, { bare });
        t.after(() => q.cleanUp());
        await q.submit('f1', JOB);
        const refused = ['alias.txt', 'dirlink/c.txt', 'etc-link/passwd', 'out-link', 'dir/../a.txt', './a.txt', 'dir//b.txt', '/etc/passwd', 'missing', 'dir'];
        const asked = ['a.txt', ...refused, '-dash.txt', 'new\nline.txt', 'dir/sub/c.txt'];
        const r = await q.run(['fetch', 'f1', ...asked]);
        assert.equal(r.code, 0, r.stderr);
        const entries = await tarEntries(r.stdout);
        assert.deepEqual(entries.map((e) => [e.name, e.type, e.content]), [
          ['work/a.txt', 'file', 'A'],
          ['work/-dash.txt', 'file', 'DD'],
          ['work/new\nline.txt', 'file', 'NL'],
          ['work/dir/sub/c.txt', 'file', 'C'],
        ]);
        const sums = await q.run(['fetch', '--sha256', 'f1', ...asked]);
        assert.equal(sums.code, 0, sums.stderr);
        const sha = (s: string) => createHash('sha256').update(s).digest('hex');
        assert.deepEqual(sums.stdout.toString().split('\n'), [sha('A'), ...refused.map(() => '-'), sha('DD'), sha('NL'), sha('C'), '']);
        // nothing valid: an empty stream, exit 0
        const none = await q.run(['fetch', 'f1', 'alias.txt']);
        assert.deepEqual([none.code, none.stdout.length], [0, 0]);
      });
    }

    test('files and fetch: 66 for a job that does not exist, 64 without their arguments', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const args of [['files', 'nope'], ['fetch', 'nope', 'a']]) assert.equal((await q.run(args)).code, 66, args.join(' '));
      assert.equal((await q.run(['files'])).code, 64);
      assert.equal((await q.run(['fetch', 'nope'])).code, 64);
    });
  });
});
