// pid_max is 32768 here and pids come back within minutes: the helpers never signal a pid (or a
// process group of that number) that they cannot prove is still the job's.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { groupMembers, parseReply, processAlive, Queue, SHELLS, waitFor } from './_queue.js';

describe('reused pids', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    describe(`under ${shell.name}`, () => {
      test('kill of a lost job leaves alone a process group that took the dead wrapper\'s number', async (t) => {
        const q = await Queue.setUp(shell);
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

/**
 * Starts ARGV as pid `pid` once that pid is free: a real reuse of a dead process's pid (root may set
 * ns_last_pid, the last pid given out). Another process of this busy machine may take it first: a try
 * that misses is killed, and the next waits for the pid to be free again.
 */
function spawnAtPid(pid: number, argv: string[]): Promise<ChildProcess> {
  return waitFor(`a process to take pid ${pid}`, () => {
    if (existsSync(`/proc/${pid}`)) return undefined;
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
    return undefined;
  });
}

/** For clean-ups: a process the test started may have ended already. */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]);
}

describe('reused pids on a host without /proc (ps proves the wrapper)', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    for (const ps of PS_KINDS) {
      describe(`under ${shell.name} with ${ps.name}`, () => {
        test('a lost job whose pid now names a stranger\'s process group is lost, and kill leaves the stranger alone', async (t) => {
          const q = await Queue.setUp(shell, { bare: ps.bare, env: NO_PROC });
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

// One at a time: setting ns_last_pid for one test's pid would give the pids that follow it, which may
// be another test's wrapper's, to whatever forks next on this busy machine.
describe('kill waiting out the grace period', { concurrency: 1 }, () => {
  for (const shell of SHELLS) {
    for (const host of [{ name: 'with /proc', env: {} }, { name: 'without /proc', env: NO_PROC }]) {
      describe(`under ${shell.name} ${host.name}`, () => {
        test('leaves alone a process that took the wrapper\'s pid once the job had ended', async (t) => {
          const q = await Queue.setUp(shell, { env: host.env });
          t.after(() => q.cleanUp());
          // The job ends on TERM only once the test opens the gate.
          const script = "trap 'touch got-term; while ! test -e gate; do sleep 0.1; done; exit 0' TERM\necho ready > ready\nsleep 1000 & wait\n";
          const rec = await q.submit('ends', { script: 'run.sh', files: { 'run.sh': script } });
          const wrapper = Number(rec.native_id);
          const work = join(q.jobDir('ends'), 'work');
          await waitFor('the job to be ready', () => (existsSync(join(work, 'ready')) ? true : undefined));
          const kill = q.run(['kill', 'ends', '--grace', '20']);
          await waitFor('the job to get TERM', () => (existsSync(join(work, 'got-term')) ? true : undefined));
          // Held while the job ends and its wrapper's pid goes to a stranger.
          const killer = await waitFor('the kill helper', () => q.processes().find((pid) => /kill(\.sh)? ends --grace 20$/.test(commandLine(pid)) && parentOf(pid) === process.pid));
          process.kill(killer, 'SIGSTOP');
          t.after(() => signalIfAlive(killer, 'SIGCONT'));
          writeFileSync(join(work, 'gate'), '');
          const stranger = await spawnAtPid(wrapper, ['sleep', '1001']);
          t.after(() => stranger.kill('SIGKILL'));
          process.kill(killer, 'SIGCONT');
          const r = await kill;
          assert.equal(r.code, 0, r.stderr);
          assert.equal(parseReply(r.stdout).records[0]!.state, 'killed');
          assert.ok(processAlive(wrapper), 'the stranger lives');
        });
      });
    }
  }
});

// One at a time, as above.
describe('the time limit\'s timer on a host without /proc', { concurrency: 1 }, () => {
  for (const shell of SHELLS) {
    for (const ps of PS_KINDS) {
      describe(`under ${shell.name} with ${ps.name}`, () => {
        // Where the wrapper leads a group (setsid; bash's set -m), the kernel gives its pid to no one
        // while the timer, a member of the group, lives: the wrapper's pid can be reused before the
        // timer fires only where it leads none (dash, busybox and posh without setsid).
        const leadsGroup = !ps.bare || shell.name.startsWith('bash');
        if (!leadsGroup) test('leaves alone a process that took the dead wrapper\'s pid', async (t) => {
          const q = await Queue.setUp(shell, { bare: ps.bare, env: NO_PROC });
          t.after(() => q.cleanUp());
          const rec = await q.submit('limited', { command: 'sleep 1000', timeLimit: 30 });
          const wrapper = Number(rec.native_id);
          await waitFor('the job to start', () => (q.commandLines().includes('sleep 1000') ? true : undefined));
          const timer = parentOf(await waitFor('the timer to sleep', () => q.processes().find((pid) => commandLine(pid) === 'sleep 30')));
          assert.match(commandLine(wrapper), / \S*\/lib\/run-job\.sh \S*\/jobs\/limited$/);
          assert.deepEqual(groupMembers(wrapper), [], 'the wrapper leads no group');
          process.kill(wrapper, 'SIGKILL');
          const stranger = await spawnAtPid(wrapper, ['sleep', '1001']);
          t.after(() => stranger.kill('SIGKILL'));
          assert.ok(processAlive(timer), 'the timer had not fired before the stranger took the pid');
          const strangerEnd = new Promise<string>((r) => stranger.once('exit', (code, signal) => r(`the stranger ended (${signal ?? code})`)));
          const timerEnd = waitFor('the timer to end', () => (processAlive(timer) ? undefined : 'the timer ended'), 120_000);
          assert.equal(await Promise.race([strangerEnd, timerEnd]), 'the timer ended');
          assert.ok(processAlive(wrapper), 'the stranger lives');
        });
      });
    }
  }
});
