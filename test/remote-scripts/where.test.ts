// The where helper under every shell of the matrix: a direct job's state, and 127.0.0.1 as its node
// while it runs (queue_node's default); an ended job has no node; refusals with their exit codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell } from './_shells.js';

eachShell((shell) => {
  test('tells the state, and the node of a running job', { timeout: 60_000 }, async (t) => {
    const q = await HelperQueue.setUp(shell);
    t.after(() => q.cleanUp());
    await q.submit('w1', { command: 'while ! test -f stop; do sleep 0.1; done' });
    await q.waitState('w1', ['running']);
    const running = await q.run(['where', 'w1']);
    assert.equal(running.code, 0, running.stderr);
    assert.equal(running.stdout.toString(), 'tej-proto=1\nstate=running\nnode=127.0.0.1\n');
    const touched = await q.run(['exec', 'w1', 'touch', 'stop']);
    assert.equal(touched.code, 0, touched.stderr);
    await q.waitState('w1', ['finished']);
    const ended = await q.run(['where', 'w1']);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(ended.stdout.toString(), 'tej-proto=1\nstate=finished\n');
    assert.equal((await q.run(['where'])).code, 64);
    assert.equal((await q.run(['where', 'no-such'])).code, 66);
    assert.equal((await q.run(['where', '../x'])).code, 65);
  });
});
