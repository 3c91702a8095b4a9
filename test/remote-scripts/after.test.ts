// Dependencies (meta/after, lib/after.sh) under each shell of the matrix, helpers from files: the direct
// wrapper waits queued for its dependencies, runs after one that ended (any) or finished with 0 (ok),
// ends unrun after one that failed, and a kill ends its wait. Jobs end when the test opens a gate file.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

describe('submit with meta/after (direct)', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('waits queued, then runs, ends unrun with its dependency named, or ends killed', async (t) => {
      const q = await HelperQueue.setUp(shell, { env: { TEJ_AFTER_POLL: '1' } });
      t.after(() => q.cleanUp());
      const gate = join(q.tmp, 'gate');
      await q.submit('a', { command: `while [ ! -e '${gate}' ]; do sleep 0.1; done; exit 3` });
      const ran = { command: 'echo ran > ran.txt' };
      await q.submit('b', { ...ran, meta: { after: 'a ok\n' } });
      await q.submit('c', { ...ran, meta: { after: 'a any\n' } });
      await q.submit('d', { ...ran, meta: { after: 'a\tok\n' } });
      for (const id of ['b', 'c', 'd']) assert.equal((await q.status(id)).state, 'queued', id);
      const killed = await q.ok(['kill', 'd']);
      assert.equal(killed.records[0]!.state, 'killed');
      writeFileSync(gate, '');
      const b = await q.waitState('b', ['finished']);
      assert.equal(b.exit_code, '125');
      assert.equal(b.dependency, 'a failed');
      assert.equal(b.start, undefined);
      const c = await q.waitState('c', ['finished']);
      assert.equal(c.exit_code, '0');
      assert.equal(q.jobFile('c', 'work/ran.txt'), 'ran\n');
      assert.equal(existsSync(join(q.jobDir('b'), 'work/ran.txt')), false);
      assert.equal(existsSync(join(q.jobDir('d'), 'work/ran.txt')), false);
      assert.equal((await q.status('d')).state, 'killed');
    });

    test('refuses an unknown dependency or a bad mode at submit (65), and claims no id', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const [after, message] of [['nope ok\n', /no such job to run after: nope/], ['a maybe\n', /bad dependency mode for a/]] as const) {
        await q.submit('a', { command: 'true' }).catch(() => undefined);
        const r = await q.run(['submit', 'x', 'N0nce'], { input: await jobTar({ command: 'true', meta: { after } }) });
        assert.equal(r.code, 65, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(existsSync(q.jobDir('x')), false);
      }
    });
  });
});
