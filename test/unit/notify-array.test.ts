// Which arrays' webhooks a client claims, and what it posts of a claim (pure logic: src/job/notify-array.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { notifyKey, notifyMac } from '../../src/job/notify.js';
import { claimedArrayPosts, pendingArrays } from '../../src/job/notify-array.js';
import type { JobStatus } from '../../src/job/status.js';

const ended = (id: string, more: Partial<JobStatus> = {}): JobStatus => ({ id, state: 'finished', exitCode: 0, notifyWebhook: 'http://h/x', ...more });

describe("the whole array's webhook from the client", () => {
  it('asks only for an array seen whole, every task ended with a webhook, none posted by its host or claimed', () => {
    const whole = (tasks: JobStatus[]) => new Map<string, JobStatus | undefined>([['a', undefined], ...tasks.map((t): [string, JobStatus] => [t.id, t])]);
    assert.deepEqual(pendingArrays(whole([ended('a/0'), ended('a/1', { exitCode: 3 }), ended('a/2', { state: 'killed' })])), ['a']);
    assert.deepEqual(pendingArrays(whole([ended('a/0'), ended('a/1', { state: 'running' })])), [], 'a task still runs');
    assert.deepEqual(pendingArrays(whole([ended('a/0'), ended('a/1', { notifyHost: 'curl' })])), [], 'the host posts it');
    assert.deepEqual(pendingArrays(whole([ended('a/0', { arrayNotifyClaimed: '1' }), ended('a/1')])), [], 'claimed already');
    assert.deepEqual(pendingArrays(whole([ended('a/0', { notifyWebhook: undefined })])), [], 'no webhook');
    // tasks named one by one: the array is not seen whole, unless the map is a listing of every job
    const some = new Map([['a/0', ended('a/0')]]);
    assert.deepEqual(pendingArrays(some), []);
    assert.deepEqual(pendingArrays(some, true), ['a']);
  });

  it('looks at an array of 50000 tasks in one pass', () => {
    // Each task's status was appended to a copy of its array's list: quadratic, 4.4 s for 20000 tasks
    // (a status or wait of a big sweep), 35 s for these 50000; one pass takes some 40 ms here. The
    // bound leaves a loaded machine a margin of fifty times.
    const statuses = new Map<string, JobStatus | undefined>([['a', undefined]]);
    for (let i = 0; i < 50_000; i++) statuses.set(`a/${i}`, ended(`a/${i}`));
    const started = performance.now();
    assert.deepEqual(pendingArrays(statuses), ['a']);
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `pendingArrays took ${Math.round(ms)} ms for 50000 tasks`);
    statuses.set('a/50000', ended('a/50000', { state: 'running' }));
    assert.deepEqual(pendingArrays(statuses), [], 'the last task still runs');
  });

  describe('claimed arrays', () => {
    let home: string;
    const saved = process.env.XDG_CONFIG_HOME;
    before(async () => {
      home = await mkdtemp(join(tmpdir(), 'tej-notify-array-'));
      process.env.XDG_CONFIG_HOME = home;
    });
    after(async () => {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
      await rm(home, { recursive: true, force: true });
    });

    it("posts the host's counts to a URL this client submitted, and nothing to another", async () => {
      const key = (await notifyKey(true))!;
      const record = { id: 'a', tasks: '3', finished: '1', failed: '1', killed: '1', timeout: '0', host: 'h1', notify_webhook: 'http://h/x' };
      assert.deepEqual(await claimedArrayPosts([{ ...record, notify_mac: notifyMac(key, 'http://h/x') }], 'q'), [
        { url: 'http://h/x', body: { id: 'a', tasks: 3, finished: 1, failed: 1, killed: 1, timeout: 0, host: 'h1' } },
      ]);
      const write = process.stderr.write.bind(process.stderr);
      let warned = '';
      process.stderr.write = ((s: string) => ((warned += s), true)) as typeof process.stderr.write;
      try {
        // a task rewrote the array's URL: its MAC no longer checks out
        assert.deepEqual(await claimedArrayPosts([{ ...record, notify_webhook: 'http://evil/', notify_mac: notifyMac(key, 'http://h/x') }], 'q'), []);
      } finally {
        process.stderr.write = write;
      }
      assert.match(warned, /not posting to the webhook of array a/);
      // counts that are not numbers: nothing
      assert.deepEqual(await claimedArrayPosts([{ ...record, tasks: 'x', notify_mac: notifyMac(key, 'http://h/x') }], 'q'), []);
    });
  });
});
