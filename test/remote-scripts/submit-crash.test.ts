// submit killed at an exact point (SIGKILL, as an SSH drop may leave it): after the plugin started the
// job and before submit recorded its native id. The job runs: status says so, kill ends it, delete does
// not pull its directory away, and a retry of the same submit adopts it instead of starting it again.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type JobFixture, jobTar } from './_job-tar.js';
import { HelperQueue, parseReply, TEST_HASH, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';
import { directPluginWith } from '../helpers/direct-plugin.js';

/**
 * The direct plugin behind a gate: its queue_submit starts the job, writes the native id to
 * $TEJ_GATE/started and blocks on the FIFO $TEJ_GATE/fifo before it returns (without TEJ_GATE it is
 * the direct plugin).
 */
async function installGatedPlugin(q: HelperQueue): Promise<void> {
  const gated = directPluginWith(`\t_gate_native=$(direct_queue_submit "$1") || return
\tif test -n "\${TEJ_GATE:-}"; then
\t\tprintf '%s\\n' "$_gate_native" >"$TEJ_GATE/started.tmp" && mv "$TEJ_GATE/started.tmp" "$TEJ_GATE/started"
\t\tread -r _gate_line <"$TEJ_GATE/fifo" || :
\tfi
\tprintf '%s\\n' "$_gate_native"`);
  writeFileSync(join(q.root, 'queues', 'gated.sh'), gated);
  // any run lists it in MANIFEST, as installed
  assert.equal((await q.run(['list'])).code, 0);
}

/**
 * Runs `submit ID NONCE --plugin gated` in a process group of its own, waits until the plugin has
 * started the job (the gate), then SIGKILLs the whole group: the submit helper and its subshells. The
 * job's wrapper leads a session of its own (setsid) and lives on. Returns the native id the plugin printed.
 */
async function submitKilledAfterStart(q: HelperQueue, id: string, nonce: string, spec: JobFixture): Promise<string> {
  const gate = join(q.tmp, `gate-${id}`);
  spawnSync('mkdir', [gate]);
  assert.equal(spawnSync('mkfifo', [join(gate, 'fifo')]).status, 0);
  const [cmd, ...pre] = q.shell.argv;
  const child = spawn(cmd!, [...pre, join(q.root, 'tej-remote'), '--proto', '1', '--hash', TEST_HASH, 'submit', id, nonce, '--plugin', 'gated'], {
    env: { ...q.env, TEJ_GATE: gate },
    cwd: q.tmp,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let code: number | null | undefined;
  void closed.then((c) => (code = c));
  child.stdin.on('error', () => {});
  child.stdin.end(await jobTar({ ...spec, nonce }));
  const native = await waitFor('the plugin to start the job', () => {
    if (code !== undefined) throw new Error(`submit exited ${code} before the gate: ${stderr}`);
    try {
      return readFileSync(join(gate, 'started'), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  });
  process.kill(-child.pid!, 'SIGKILL');
  await closed;
  return native;
}

/** The live job wrappers of this queue (run-job.sh), by pid: not the wrappers' own subshells (the runner). */
function wrappers(q: HelperQueue): number[] {
  const runJob = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.endsWith('/lib/run-job.sh'));
    } catch {
      return false;
    }
  };
  const parent = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]);
  };
  return q.processes().filter((pid) => runJob(pid) && !runJob(parent(pid)));
}

describe('a submit killed after the plugin started the job', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('the job reads running, a retry with the same nonce adopts it without a second start, and kill ends it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await installGatedPlugin(q);
      const pid = await submitKilledAfterStart(q, 'gap', 'GapNonce', { command: 'echo once >> runs; exec sleep 1000' });
      await q.waitForCommand(Number(pid), 'sleep 1000');
      assert.ok(!existsSync(join(q.jobDir('gap'), 'native-id')), 'the submit died before it wrote native-id');

      const rec = await q.status('gap');
      assert.equal(rec.state, 'running', JSON.stringify(rec));
      assert.equal(rec.native_id, pid);

      // The client's retry of this very submit (its connection broke): the same job, started once.
      const retry = await q.run(['submit', 'gap', 'GapNonce', '--plugin', 'gated'], { input: await jobTar({ command: 'echo once >> runs; exec sleep 1000', nonce: 'GapNonce' }) });
      assert.equal(retry.code, 0, retry.stderr);
      const again = parseReply(retry.stdout).records[0]!;
      assert.equal(again.resumed, '1');
      assert.equal(again.native_id, pid);
      assert.equal(again.state, 'running');
      assert.deepEqual(wrappers(q), [Number(pid)], 'one wrapper, the first one');
      assert.equal(q.jobFile('gap', 'work/runs'), 'once\n');
      assert.equal(q.jobFile('gap', 'native-id'), `${pid}\n`, 'the retry finished the submit');

      // delete without --kill refuses a running job; kill ends it
      const del = await q.run(['delete', 'gap']);
      assert.equal(del.code, 75, del.stderr);
      const killed = parseReply((await q.run(['kill', 'gap'])).stdout).records[0]!;
      assert.equal(killed.previous_state, 'running');
      assert.equal(killed.state, 'killed');
      assert.deepEqual(q.members(Number(pid)), []);
    });

    test('kill and delete --kill end such a job without a retry', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await installGatedPlugin(q);
      const a = await submitKilledAfterStart(q, 'orphan-a', 'NonceA', { command: 'exec sleep 1000' });
      const b = await submitKilledAfterStart(q, 'orphan-b', 'NonceB', { command: 'exec sleep 1000' });
      await q.waitForCommand(Number(a), 'sleep 1000');
      await q.waitForCommand(Number(b), 'sleep 1000');
      const list = await q.ok(['list']);
      assert.deepEqual(list.records.map((r) => [r.id, r.state, r.native_id]), [['orphan-a', 'running', a], ['orphan-b', 'running', b]]);

      const killed = await q.run(['kill', 'orphan-a']);
      assert.equal(killed.code, 0, killed.stderr);
      assert.equal(parseReply(killed.stdout).records[0]!.state, 'killed');
      assert.deepEqual(q.members(Number(a)), []);

      const deleted = await q.run(['delete', 'orphan-b', '--kill']);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(q.members(Number(b)), [], 'no wrapper left running under a removed directory');
      assert.deepEqual(readdirSync(join(q.root, 'jobs')), ['orphan-a']);
    });

    test('an incomplete job never starts afterwards, nor does a wrapper whose submit attempt was replaced', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // What a submit killed between its fork of the wrapper and the wrapper's first line leaves: no
      // native-id, a dead submitter, no record of the wrapper yet.
      const dir = q.jobDir('late');
      mkdirSync(join(dir, 'work'), { recursive: true });
      mkdirSync(join(dir, 'meta'));
      writeFileSync(join(dir, 'meta', 'command'), 'echo ran > out');
      writeFileSync(join(dir, 'nonce'), 'LateNonce\n');
      writeFileSync(join(dir, 'attempt'), 'late.1.AbCdEf\n');
      writeFileSync(join(dir, 'submitter'), `${spawnSync('true').pid}\n`);
      assert.equal((await q.status('late')).state, 'incomplete');
      assert.ok(lstatSync(join(dir, 'launched')).isSymbolicLink(), 'the start was given up');
      const runJob = (env: NodeJS.ProcessEnv) => spawnSync(q.wrapper, [join(q.root, 'lib', 'run-job.sh'), dir], { env: { ...q.env, ...env }, encoding: 'utf8' });
      const late = runJob({ TEJ_ATTEMPT: 'late.1.AbCdEf' });
      assert.equal(late.status, 73, late.stderr);
      assert.match(late.stderr, /job late was started already, or its start was given up/);
      assert.ok(!existsSync(join(dir, 'start')) && !existsSync(join(dir, 'work', 'out')), 'the job did not run');
      assert.equal((await q.status('late')).state, 'incomplete');

      // A retry took the job over at the same path: the first attempt's wrapper, late, finds another attempt.
      const rec = await q.submit('late', { command: 'exec sleep 1000', nonce: 'LateNonce' });
      await q.waitForCommand(Number(rec.native_id), 'sleep 1000');
      const stale = runJob({ TEJ_ATTEMPT: 'late.1.AbCdEf' });
      assert.equal(stale.status, 73, stale.stderr);
      assert.match(stale.stderr, /the submit that started this wrapper has been replaced/);
      assert.equal(q.jobFile('late', 'launched').split(' ')[1], rec.native_id);
      // and a second wrapper of the same attempt does not run it twice
      const twice = runJob({ TEJ_ATTEMPT: q.jobFile('late', 'attempt').trim() });
      assert.equal(twice.status, 73, twice.stderr);
      assert.equal((await q.status('late')).state, 'running');
    });

    test('a submitter whose pid names another process by now is not taken for a live submit', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const dir = q.jobDir('reused');
      mkdirSync(join(dir, 'work'), { recursive: true });
      writeFileSync(join(dir, 'nonce'), 'N\n');
      // this test's own pid, alive, with a start time that is not its own
      writeFileSync(join(dir, 'submitter'), `${process.pid} 1\n`);
      assert.equal((await q.status('reused')).state, 'incomplete');
      writeFileSync(join(dir, 'submitter'), `${process.pid}\n`);
      rmSync(join(dir, 'launched'));
      assert.equal((await q.status('reused')).state, 'submitting', 'without a start time, a live pid counts');
    });
  });
});
