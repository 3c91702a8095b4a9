// Pids really reused: root sets ns_last_pid so that a stranger takes a dead wrapper's pid. That file is
// per pid namespace, and setting it in the machine's own would hand the pids that follow to whatever
// forks next on it (another suite's jobs and labs): so this file runs itself again in a pid namespace of
// its own (unshare --pid --fork --mount-proc, with a shell as its init, which reaps the orphans), and
// only there are the tests defined.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { groupMembers, processAlive, signalIfAlive } from './_processes.js';
import { HelperQueue, parseReply, waitFor } from './_queue.js';
import { eachShell, NO_PROC, PS_KINDS } from './_shells.js';

if (process.env.TEJ_TEST_PID_NS !== '1') {
  test('the pid reuse tests pass in a pid namespace of their own', () => {
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync(
      'unshare',
      ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', '"$@" & wait $!', 'init', process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', self],
      // (without the runner's NODE_TEST_CONTEXT, which would make the inner runner a silent child of ours)
      { env: { ...process.env, NODE_TEST_CONTEXT: undefined, TEJ_TEST_PID_NS: '1' }, encoding: 'utf8', timeout: 1_800_000 },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ℹ pass [1-9]\d*$/m, r.stdout);
    assert.match(r.stdout, /^ℹ fail 0$/m, r.stdout);
  });
} else {
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

  /**
   * Runs `kill ID --grace GRACE` and, once the job has had its TERM (`termed`), holds the kill helper
   * (SIGSTOP) while the job's process `pid` ends (`release` lets it) and a stranger takes its pid; then
   * lets the helper go on. The kill must say killed and leave the stranger alive.
   */
  async function killWhileStrangerTakesPid(
    t: TestContext,
    q: HelperQueue,
    [id, grace]: [string, number],
    o: { pid: number; termed: () => Promise<unknown>; release?: () => void },
  ): Promise<void> {
    const kill = q.run(['kill', id, '--grace', String(grace)]);
    await o.termed();
    const helper = new RegExp(`kill(\\.sh)? ${id} --grace ${grace}$`);
    const killer = await waitFor('the kill helper', () => q.processes().find((pid) => helper.test(commandLine(pid)) && parentOf(pid) === process.pid));
    process.kill(killer, 'SIGSTOP');
    t.after(() => signalIfAlive(killer, 'SIGCONT'));
    o.release?.();
    const stranger = await spawnAtPid(o.pid, ['sleep', '1001']);
    t.after(() => stranger.kill('SIGKILL'));
    process.kill(killer, 'SIGCONT');
    const r = await kill;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseReply(r.stdout).records[0]!.state, 'killed');
    assert.ok(processAlive(o.pid), 'the stranger lives');
  }

  // One at a time: setting ns_last_pid for one test's pid would give the pids that follow it, which may
  // be another test's wrapper's, to whatever forks next on this busy machine.
  describe('kill waiting out the grace period', { concurrency: 1 }, () => {
    eachShell({ variants: [{ title: 'with /proc', env: {} }, { title: 'without /proc', env: NO_PROC }] }, (shell, host) => {
      test('leaves alone a process that took the wrapper\'s pid once the job had ended', async (t) => {
        const q = await HelperQueue.setUp(shell, { env: host.env });
        t.after(() => q.cleanUp());
        // The job ends on TERM only once the test opens the gate.
        const script = "trap 'touch got-term; while ! test -e gate; do sleep 0.1; done; exit 0' TERM\necho ready > ready\nsleep 1000 & wait\n";
        const rec = await q.submit('ends', { script: 'run.sh', files: { 'run.sh': script } });
        const wrapper = Number(rec.native_id);
        const work = join(q.jobDir('ends'), 'work');
        await waitFor('the job to be ready', () => (existsSync(join(work, 'ready')) ? true : undefined));
        // The job ends (the gate opens) and its wrapper's pid goes to a stranger.
        await killWhileStrangerTakesPid(t, q, ['ends', 20], {
          pid: wrapper,
          termed: () => waitFor('the job to get TERM', () => (existsSync(join(work, 'got-term')) ? true : undefined)),
          release: () => writeFileSync(join(work, 'gate'), ''),
        });
      });
    });
  });

  // One at a time, as above.
  describe('kill of a job that leads no process group, on a host without /proc', { concurrency: 1 }, () => {
    // Without setsid the wrapper leads no group under dash, busybox and posh (bash's set -m makes one):
    // kill freezes the job's process tree, TERMs it, and KILLs what is left after the grace period.
    eachShell({ variants: PS_KINDS.filter((ps) => ps.bare), where: (s) => !s.name.startsWith('bash') }, (shell, ps) => {
      test('leaves alone a process that took the pid of one of the job\'s processes during the grace period', async (t) => {
        const q = await HelperQueue.setUp(shell, { bare: ps.bare, env: NO_PROC });
        t.after(() => q.cleanUp());
        // The job's shell ignores TERM, so that the KILL after the grace period is needed; its sleep ends on TERM.
        const script = 'sleep 1000 &\necho $! > sleeper\ntrap "" TERM\nwait\ntouch sleeper-gone\nwhile :; do sleep 1; done\n';
        const rec = await q.submit('tree', { script: 'run.sh', files: { 'run.sh': script } });
        const wrapper = Number(rec.native_id);
        const work = join(q.jobDir('tree'), 'work');
        await waitFor('the job to start its sleep', () => (q.commandLines().includes('sleep 1000') && existsSync(join(work, 'sleeper')) ? true : undefined));
        assert.deepEqual(groupMembers(wrapper), [], 'the wrapper leads no group');
        const sleeper = Number(readFileSync(join(work, 'sleeper'), 'utf8'));
        // The sleep's pid goes to a stranger during the grace period.
        await killWhileStrangerTakesPid(t, q, ['tree', 15], {
          pid: sleeper,
          termed: () => waitFor('the job\'s sleep to end on TERM', () => (existsSync(join(work, 'sleeper-gone')) ? true : undefined)),
        });
        assert.ok(!q.commandLines().includes('sleep 1000'), 'nothing of the job is left');
      });
    });
  });

  // One at a time, as above.
  describe('the time limit\'s timer on a host without /proc', { concurrency: 1 }, () => {
    eachShell({ variants: PS_KINDS }, (shell, ps) => {
      // Where the wrapper leads a group (setsid; bash's set -m), the kernel gives its pid to no one
      // while the timer, a member of the group, lives: the wrapper's pid can be reused before the
      // timer fires only where it leads none (dash, busybox and posh without setsid).
      const leadsGroup = !ps.bare || shell.name.startsWith('bash');
      if (!leadsGroup) test('leaves alone a process that took the dead wrapper\'s pid', async (t) => {
        const q = await HelperQueue.setUp(shell, { bare: ps.bare, env: NO_PROC });
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
        const timerEnd = waitFor('the timer to end', () => (processAlive(timer) ? undefined : 'the timer ended'), undefined, 120_000);
        assert.equal(await Promise.race([strangerEnd, timerEnd]), 'the timer ended');
        assert.ok(processAlive(wrapper), 'the stranger lives');
      });
    });
  });
}
