// A userland without setsid and without perl (busybox applets only, as on macOS or BSD): the job
// wrapper leads no process group there, and kill and time limits must still end every process.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FAMILY, FAMILY_SLEEPS } from '../helpers/family-job.js';
import { HelperQueue, waitFor } from './_queue.js';
import { eachShell, NO_PROC, SHELLS } from './_shells.js';

// FAMILY without an orphan: every process keeps a live parent until the kill. Without /proc the
// helpers see no process's environment, so an orphan (reparented to init) cannot be told to be the job's.
const TREE = [
  '( sleep 1001 & wait ) &',
  '( ( sleep 1002 & wait ) & sleep 1003; wait ) &',
  "( trap '' TERM; sleep 1004 ) &",
  'echo ready > ready',
  'wait',
].join('\n');

const sleeps = (q: HelperQueue) => q.commandLines().filter((c) => new RegExp(FAMILY_SLEEPS).test(c));

describe('a userland without setsid', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('kill ends the job and every process below it, and says killed only then', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true });
      t.after(() => q.cleanUp());
      await q.submit('family', { script: 'run.sh', files: { 'run.sh': FAMILY } });
      await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
      const k = await q.ok(['kill', 'family', '--grace', '1']);
      assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['running', 'killed']]);
      assert.deepEqual(sleeps(q), [], 'no process of the job is left once kill says killed');
      assert.equal((await q.status('family')).state, 'killed');
    });

    test('a time limit ends the job and every process below it before it says timeout', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true });
      t.after(() => q.cleanUp());
      await q.submit('slow', { script: 'run.sh', timeLimit: 2, files: { 'run.sh': FAMILY } });
      await q.waitState('slow', ['timeout'], 120_000);
      assert.equal(q.jobFile('slow', 'work/ready'), 'ready\n', 'the job had started its children');
      assert.deepEqual(sleeps(q), [], 'no process of the job is left once the state says timeout');
    });

    // A process the job starts while the time limit's TERM ends it is in no round of the tree walk: a
    // TERM trap's, here; a bash stopped while it forked, in CI (it blocks TERM around a fork, so it
    // forks once more when let go). Before: timeout said at once, with `sleep 1005` running on.
    test('a time limit also ends what the job starts as its TERM ends it, before it says timeout', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true, env: { TEJ_KILL_GRACE: '1' } });
      t.after(() => q.cleanUp());
      const late = ["trap '( trap \"\" TERM; sleep 1005 ) & exit 0' TERM", 'sleep 1000 &', 'echo ready > ready', 'wait', ''].join('\n');
      await q.submit('late', { script: 'run.sh', timeLimit: 2, files: { 'run.sh': late } });
      await q.waitState('late', ['timeout'], 120_000);
      assert.equal(q.jobFile('late', 'work/ready'), 'ready\n', 'the job had started');
      assert.deepEqual(q.commandLines().filter((c) => /sleep 100[05]/.test(c)), [], 'no process of the job is left once the state says timeout');
    });

    test('delete --kill removes the job only once its processes are gone', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true });
      t.after(() => q.cleanUp());
      await q.submit('busy', { script: 'run.sh', files: { 'run.sh': FAMILY } });
      await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
      await q.ok(['delete', 'busy', '--kill', '--grace', '1']);
      assert.deepEqual(sleeps(q), []);
    });
  });
});

describe('a userland without setsid and without /proc (the ps fallback of the tree kill)', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('kill ends the job and every process below it', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true, env: NO_PROC });
      t.after(() => q.cleanUp());
      await q.submit('tree', { script: 'run.sh', files: { 'run.sh': TREE } });
      await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
      assert.equal(existsSync(join(q.jobDir('tree'), 'pid-start')), false, 'the helpers did not read /proc');
      const k = await q.ok(['kill', 'tree', '--grace', '1']);
      assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['running', 'killed']]);
      assert.deepEqual(sleeps(q), [], 'no process of the job is left once kill says killed');
    });

    test('a time limit ends the job and every process below it before it says timeout', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: true, env: NO_PROC });
      t.after(() => q.cleanUp());
      await q.submit('slow', { script: 'run.sh', timeLimit: 2, files: { 'run.sh': TREE } });
      await q.waitState('slow', ['timeout'], 120_000);
      assert.equal(q.jobFile('slow', 'work/ready'), 'ready\n', 'the job had started its children');
      assert.deepEqual(sleeps(q), [], 'no process of the job is left once the state says timeout');
    });
  });
});

describe('a host with setsid and without /proc (ps proves the wrapper before its group is signalled)', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('status says running, and kill ends the job and every process of its group', async (t) => {
      const q = await HelperQueue.setUp(shell, { env: NO_PROC });
      t.after(() => q.cleanUp());
      await q.submit('family', { script: 'run.sh', files: { 'run.sh': FAMILY } });
      await waitFor('the job to start its children', () => (sleeps(q).length >= 4 ? true : undefined));
      assert.equal(existsSync(join(q.jobDir('family'), 'pid-start')), false, 'the helpers did not read /proc');
      assert.equal((await q.status('family')).state, 'running');
      const k = await q.ok(['kill', 'family', '--grace', '1']);
      assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['running', 'killed']]);
      assert.deepEqual(sleeps(q), [], 'no process of the job is left once kill says killed');
    });
  });
});
