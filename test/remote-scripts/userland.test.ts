// A userland without setsid and without perl (busybox applets only, as on macOS or BSD): the job
// wrapper leads no process group there, and kill and time limits must still end every process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FAMILY, FAMILY_SLEEPS } from '../helpers/family-job.js';
import { Queue, SHELLS, waitFor } from './_queue.js';

const sleeps = (q: Queue) => q.commandLines().filter((c) => new RegExp(FAMILY_SLEEPS).test(c));

describe('a userland without setsid', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    describe(`under ${shell.name}`, () => {
      test('kill ends the job and every process below it, and says killed only then', async (t) => {
        const q = await Queue.setUp(shell, { bare: true });
        t.after(() => q.cleanUp());
        await q.submit('family', { script: 'run.sh', files: { 'run.sh': FAMILY } });
        await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
        const k = await q.ok(['kill', 'family', '--grace', '1']);
        assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['running', 'killed']]);
        assert.deepEqual(sleeps(q), [], 'no process of the job is left once kill says killed');
        assert.equal((await q.status('family')).state, 'killed');
      });

      test('a time limit ends the job and every process below it before it says timeout', async (t) => {
        const q = await Queue.setUp(shell, { bare: true });
        t.after(() => q.cleanUp());
        await q.submit('slow', { script: 'run.sh', timeLimit: 2, files: { 'run.sh': FAMILY } });
        await q.waitState('slow', ['timeout'], 120_000);
        assert.equal(q.jobFile('slow', 'work/ready'), 'ready\n', 'the job had started its children');
        assert.deepEqual(sleeps(q), [], 'no process of the job is left once the state says timeout');
      });

      test('delete --kill removes the job only once its processes are gone', async (t) => {
        const q = await Queue.setUp(shell, { bare: true });
        t.after(() => q.cleanUp());
        await q.submit('busy', { script: 'run.sh', files: { 'run.sh': FAMILY } });
        await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
        await q.ok(['delete', 'busy', '--kill', '--grace', '1']);
        assert.deepEqual(sleeps(q), []);
      });
    });
  }
});
