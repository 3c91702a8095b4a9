// TEJ_SCRATCH_DIR is unique per queue and job: two queues of one user may run jobs of one id at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { SHELLS } from './_shells.js';

describe('scratch directories', () => {
  test('two queues of one user running a job of the same id get two scratch directories', async (t) => {
    const a = await HelperQueue.setUp(SHELLS[0]!);
    t.after(() => a.cleanUp());
    const b = await HelperQueue.setUp(SHELLS[0]!);
    t.after(() => b.cleanUp());
    b.env.TMPDIR = a.env.TMPDIR; // one user, one TMPDIR
    const job = { command: 'echo "$TEJ_SCRATCH_DIR" > where; echo "$TEJ_QUEUE" > "$TEJ_SCRATCH_DIR/owner"; sleep 2; cat "$TEJ_SCRATCH_DIR/owner"' };
    await a.submit('same', job);
    await b.submit('same', job);
    await a.waitState('same', ['finished'], 30_000);
    await b.waitState('same', ['finished'], 30_000);
    assert.notEqual(a.jobFile('same', 'work/where'), b.jobFile('same', 'work/where'));
    for (const q of [a, b]) assert.equal(q.jobFile('same', 'work/tej.stdout').trim().endsWith('/queue'), true);
    assert.notEqual(a.jobFile('same', 'work/tej.stdout'), b.jobFile('same', 'work/tej.stdout'), 'each job read back its own file');
  });
});
