// pid_max is 32768 here and pids come back within minutes: the helpers never signal a pid (or a
// process group of that number) that they cannot prove is still the job's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { groupMembers, processAlive, signalIfAlive } from './_processes.js';
import { HelperQueue, TEST_HASH, waitFor } from './_queue.js';
import { eachShell, NO_PROC, PS_KINDS, SHELLS } from './_shells.js';

describe('reused pids', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
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
});

/** Spawns `setsid ARGV...` from here (not a group leader, so setsid does not fork): a new group whose leader is the child. */
function strangerGroup(argv: string[]): number {
  const child = spawn('setsid', argv, { stdio: 'ignore' });
  return child.pid!;
}

describe('reused pids on a host without /proc (ps proves the wrapper)', { concurrency: SHELLS.length }, () => {
  eachShell({ variants: PS_KINDS }, (shell, ps) => {
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
});

describe('a dead submit whose pid now names a stranger, on a host without /proc', { concurrency: SHELLS.length }, () => {
  eachShell({ variants: PS_KINDS }, (shell, ps) => {
    test('is not taken for a live one', async (t) => {
      const q = await HelperQueue.setUp(shell, { bare: ps.bare, env: NO_PROC });
      t.after(() => q.cleanUp());
      // A submit held in its upload (half a tar, stdin left open): it has its staging dir and its record.
      const [cmd, ...pre] = q.shell.argv;
      const submit = spawn(cmd!, [...pre, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'submit', 'held', 'n1'], {
        env: q.env,
        cwd: q.tmp,
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
      });
      const closed = new Promise((r) => submit.once('close', r));
      t.after(() => signalIfAlive(-submit.pid!, 'SIGKILL'));
      submit.stdin.on('error', () => {});
      submit.stdin.write((await jobTar({ command: 'true', nonce: 'n1' })).subarray(0, 512));
      const staging = join(q.root, 'staging');
      const [dir, record] = await waitFor('the submit\'s record', () => {
        for (const name of existsSync(staging) ? readdirSync(staging) : []) {
          const line = existsSync(join(staging, name, 'submitter')) ? readFileSync(join(staging, name, 'submitter'), 'utf8') : '';
          if (name.startsWith('held.') && line.endsWith('\n')) return [name, line.trim()] as const;
        }
        return undefined;
      });
      const seen = Date.now(); // the submit has started by now
      const [pid, ...identity] = record.split(' ');
      assert.equal(dir.split('.')[1], pid);
      // The claim of the id, as the submit makes it before it moves its record into jobs/ID.
      mkdirSync(q.jobDir('held'));
      assert.equal((await q.status('held')).state, 'submitting');
      process.kill(-submit.pid!, 'SIGKILL');
      await closed;
      // A stranger (started in a later second: ps tells start times to the second) takes the pid. ps
      // counts from the boot time, which the kernel gives in whole seconds: its seconds do not turn with
      // the clock's, so the stranger starts over a second after the submit, not just past the clock's next
      // second (two processes 0.1 s apart across that boundary could show one start time).
      await waitFor('a second after the submit started', () => (Date.now() > seen + 1000 ? true : undefined));
      const stranger = spawn('sleep', ['1003'], { stdio: 'ignore' });
      t.after(() => signalIfAlive(stranger.pid!, 'SIGKILL'));
      await waitFor('the stranger to run', () => (processAlive(stranger.pid!) ? true : undefined));
      const reused = [String(stranger.pid), ...identity].join(' ');
      const moved = join(staging, dir.replace(`.${pid}.`, `.${stranger.pid}.`));
      renameSync(join(staging, dir), moved);
      writeFileSync(join(moved, 'submitter'), `${reused}\n`);
      assert.equal((await q.status('held')).state, 'incomplete', 'a stranger in staging does not make the submit live');
      // The same record, moved into the job's directory (the submit died after its claim).
      rmSync(join(q.jobDir('held'), 'launched'), { force: true });
      writeFileSync(join(q.jobDir('held'), 'submitter'), `${reused}\n`);
      assert.equal((await q.status('held')).state, 'incomplete', 'a stranger in jobs/ does not make the submit live');
      assert.ok(processAlive(stranger.pid!), 'the stranger lives');
    });
  });
});
