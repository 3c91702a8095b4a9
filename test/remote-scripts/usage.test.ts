// The resource record (docs/protocol.md, "The usage record"): the wrapper measures every job with what
// the host has, GNU time where it is on PATH, else the shell's times (CPU only), and writes `usage`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HelperQueue, waitFor } from './_queue.js';
import { eachShell, SHELLS, type ShellVariant } from './_shells.js';

// ~50 MB held by the job's shell (a variable), then some CPU in a loop.
const HUNGRY = 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo ${#x}';

const HOSTS: readonly (ShellVariant & { bare: boolean; source: string })[] = [
  { title: 'with GNU time on PATH', bare: false, source: 'time' },
  { title: 'without GNU time (busybox applets only)', bare: true, source: 'times' },
];

/** The usage= line of a status record, split into its five words. */
function usageOf(r: Record<string, string>): string[] {
  assert.ok(r.usage, `no usage in ${JSON.stringify(r)}`);
  const words = r.usage.split(' ');
  assert.equal(words.length, 5, r.usage);
  return words;
}

describe('the usage record', { concurrency: SHELLS.length * HOSTS.length }, () => {
  eachShell({ variants: HOSTS }, (shell, host) => {
    test('a job that holds 50 MB and burns CPU is recorded with its CPU, and its max RSS where GNU time measured it', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: host.bare });
      t.after(() => q.cleanUp());
      await q.submit('hungry', { command: HUNGRY });
      const r = await q.waitState('hungry', ['finished']);
      assert.equal(r.exit_code, '0', q.jobFile('hungry', 'work/tej.stderr'));
      assert.equal(q.jobFile('hungry', 'work/tej.stdout'), '50000000\n');
      const [source, rss, user, sys, wall] = usageOf(r);
      assert.equal(source, host.source);
      if (host.source === 'time') assert.ok(Number(rss) >= 40e6, `max RSS ${rss}`);
      else assert.equal(rss, '-', 'times measures no memory');
      assert.ok(Number(user) > 0, `user ${user}`);
      assert.match(sys!, /^\d+\.\d+$/);
      assert.match(wall!, /^\d+\.\d\d$/);
      assert.equal(q.jobFile('hungry', 'work/tej.stderr'), '', "the measuring tool's lines stay out of the job's stderr");
    });

    test('a failing job keeps its exit code and its stderr, and is measured all the same', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: host.bare });
      t.after(() => q.cleanUp());
      await q.submit('fails', { command: 'echo oops >&2; exit 3' });
      const r = await q.waitState('fails', ['finished']);
      assert.equal(r.exit_code, '3');
      assert.equal(q.jobFile('fails', 'work/tej.stderr'), 'oops\n');
      assert.equal(usageOf(r)[0], host.source);
    });

    test('a job killed by a signal keeps its 128+N exit code', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: host.bare });
      t.after(() => q.cleanUp());
      await q.submit('self', { script: 'run.sh', files: { 'run.sh': '#!/bin/sh\nkill -KILL $$\n' } });
      const r = await q.waitState('self', ['finished']);
      assert.equal(r.exit_code, '137');
      assert.equal(usageOf(r)[0], host.source);
    });
  });

  eachShell({ variants: HOSTS }, (shell, host) => {
    // GNU time runs between the wrapper and the job: a TERM to the job's group must not end it first, or
    // the job's end (and its status) would be recorded while its handler still ran.
    test('a job that handles the TERM of tej kill is recorded once its handler ended, with its own status', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: host.bare });
      t.after(() => q.cleanUp());
      await q.submit('graceful', { command: "trap 'echo saving >saved; exit 0' TERM; echo up >up; while :; do sleep 1; done" });
      await q.waitState('graceful', ['running']);
      await waitFor('the job up', async () => existsSync(join(q.jobDir('graceful'), 'work', 'up')) || undefined);
      const k = await q.run(['kill', 'graceful']);
      assert.equal(k.code, 0, k.stderr);
      const r = await q.waitState('graceful', ['killed']);
      assert.equal(r.exit_code, '0', `the handler's status; usage ${r.usage}`);
      assert.equal(q.jobFile('graceful', 'work/saved'), 'saving\n');
      const [source, , user] = usageOf(r);
      assert.equal(source, host.source);
      assert.match(user!, /^\d+\.\d+$/, 'measured, not lost with the measuring tool');
    });
  });

  eachShell({ where: (s) => s.name === 'dash' }, (shell) => {
    test('a job that put a FIFO where the record goes ends all the same, with no usage', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // the measuring tool's file too: the runner reads it through a descriptor opened before the job ran
      await q.submit('fifo', { command: 'mkfifo ../usage && rm -f ../usage.tmp && mkfifo ../usage.tmp' });
      const r = await q.waitState('fifo', ['finished']);
      assert.equal(r.exit_code, '0', q.jobFile('fifo', 'work/tej.stderr'));
      assert.equal(r.usage, undefined);
    });
  });
});
