// pid_max is 32768 here and pids come back within minutes: the helpers never signal a pid (or a
// process group of that number) that they cannot prove is still the job's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { groupMembers, HelperQueue, processAlive, SHELLS, waitFor } from './_queue.js';

describe('reused pids', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    describe(`under ${shell.name}`, () => {
      test('kill of a lost job leaves alone a process group that took the dead wrapper\'s number', async (t) => {
        const q = await HelperQueue.setUp(shell);
        t.after(() => q.cleanUp());
        const rec = await q.submit('lost', { command: 'sleep 1000' });
        const wrapper = Number(rec.native_id);
        await waitFor('the job to start', () => (q.processes().length >= 2 ? true : undefined));
        await q.killAll();
        await q.waitState('lost', ['lost']);
        // A stranger: a group whose leader has exited, its member runs on (setsid: a new group).
        const stranger = spawn('setsid', ['sh', '-c', 'sleep 1001 & echo $$'], { stdio: ['ignore', 'pipe', 'ignore'] });
        const pgid = Number(await new Promise<string>((r) => stranger.stdout.once('data', (d) => r(String(d)))));
        await waitFor('the leader to exit', () => (!processAlive(pgid) && groupMembers(pgid).length === 1 ? true : undefined));
        const member = groupMembers(pgid)[0]!;
        t.after(() => process.kill(member, 'SIGKILL'));
        // As if the dead wrapper's pid had gone to that group's leader.
        writeFileSync(join(q.jobDir('lost'), 'native-id'), `${pgid}\n`);
        assert.notEqual(pgid, wrapper);
        const k = await q.ok(['kill', 'lost', '--grace', '1']);
        assert.equal(k.records[0]!.state, 'lost');
        assert.ok(processAlive(member), 'the stranger group\'s process lives');
      });
    });
  }
});

/** A host without /proc, as the helpers see it (TEJ_PROC, lib/job.sh): they fall back to ps. */
const NO_PROC = { TEJ_PROC: '/nonexistent/proc' };

/** The ps the helpers fall back to: procps (this host's), or busybox's (the bare userland, no setsid). */
const PS_KINDS = [
  { name: 'procps ps', bare: false },
  { name: 'busybox ps', bare: true },
];

/** Spawns `setsid ARGV...` from here (not a group leader, so setsid does not fork): a new group whose leader is the child. */
function strangerGroup(argv: string[]): number {
  const child = spawn('setsid', argv, { stdio: 'ignore' });
  return child.pid!;
}

/** For clean-ups: a process the test started may have ended already. */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

describe('reused pids on a host without /proc (ps proves the wrapper)', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    for (const ps of PS_KINDS) {
      describe(`under ${shell.name} with ${ps.name}`, () => {
        test('a lost job whose pid now names a stranger\'s process group is lost, and kill leaves the stranger alone', async (t) => {
          const q = await HelperQueue.setUp(shell, { bare: ps.bare, env: NO_PROC });
          t.after(() => q.cleanUp());
          const rec = await q.submit('lost', { command: 'sleep 1000' });
          const wrapper = Number(rec.native_id);
          await waitFor('the job to start', () => (q.commandLines().includes('sleep 1000') ? true : undefined));
          await q.killAll();
          await q.waitState('lost', ['lost']);

          // A stranger that leads its group, as if it had taken the dead wrapper's pid.
          const leader = strangerGroup(['sleep', '1001']);
          t.after(() => signalIfAlive(leader, 'SIGKILL'));
          await waitFor('the stranger to run', () => (groupMembers(leader).includes(leader) ? true : undefined));
          assert.notEqual(leader, wrapper);
          writeFileSync(join(q.jobDir('lost'), 'native-id'), `${leader}\n`);
          assert.equal((await q.status('lost')).state, 'lost', 'a stranger holding the pid does not make the job running');
          let k = await q.ok(['kill', 'lost', '--grace', '1']);
          assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['lost', 'lost']]);
          assert.ok(processAlive(leader), 'the stranger lives');

          // A stranger group whose leader has exited, its member running on.
          const stranger = spawn('setsid', ['sh', '-c', 'sleep 1002 & echo $$'], { stdio: ['ignore', 'pipe', 'ignore'] });
          const pgid = Number(await new Promise<string>((r) => stranger.stdout.once('data', (d) => r(String(d)))));
          await waitFor('the leader to exit', () => (!processAlive(pgid) && groupMembers(pgid).length === 1 ? true : undefined));
          const member = groupMembers(pgid)[0]!;
          t.after(() => signalIfAlive(member, 'SIGKILL'));
          writeFileSync(join(q.jobDir('lost'), 'native-id'), `${pgid}\n`);
          k = await q.ok(['kill', 'lost', '--grace', '1']);
          assert.deepEqual(k.records.map((r) => [r.previous_state, r.state]), [['lost', 'lost']]);
          assert.ok(processAlive(member), 'the stranger group\'s process lives');
        });
      });
    }
  }
});
