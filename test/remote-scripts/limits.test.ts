// Limits under the direct plugin (lib/limits.sh): enforced with the shell's ulimit in the job's subshell,
// or refused by submit (69) unless allow-unenforced, then recorded as not enforced. posh has no ulimit.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar, type JobFixture } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';
import { FORK_LOOP, startedOf } from '../helpers/fork-loop.js';

const PYTHON = '/usr/bin/python3';
/** Allocates 300 MB and touches every page (bytearray zeroes it). */
const ALLOC_300M = `${PYTHON} -c 'b = bytearray(300 * 1024 * 1024); print("allocated", len(b) >> 20)'`;
/** The job's own limits, as the kernel has them: "Max processes 20 20 processes". */
const SHOW_LIMITS = "grep -E '^Max (processes|address space|cpu time)' /proc/self/limits";

/**
 * The fork loop as a user of its own (root ignores RLIMIT_NPROC): the job, root here, keeps the limit the
 * wrapper set across setpriv's change of user. RLIMIT_NPROC counts every process of the user on the
 * host: a uid no other process has (not nobody, whom other tests, other shells' loops and other runs on
 * the machine use at the same time) makes the count the loop's alone. Its script and FIFO go in a
 * directory of /tmp that this user can use.
 */
function forkLoopAsLoneUser(): string {
  const uid = 200_000 + Math.floor(Math.random() * 1_000_000);
  return `d=$(mktemp -d /tmp/tej-limits.XXXXXX) && cp loop.sh "$d/" && chown -R ${uid} "$d" &&
setpriv --reuid=${uid} --regid=${uid} --clear-groups sh "$d/loop.sh" "$d"; rm -rf "$d"`;
}

/** Submits and returns the helper's exit status and stderr (a refusal leaves no job). */
async function trySubmit(q: HelperQueue, id: string, job: JobFixture) {
  return q.run(['submit', id, 'N0nce'], { input: await jobTar(job) });
}

/** The limits= word of `show` for the job: NAME:VALUE:yes|no words. */
async function shownLimits(q: HelperQueue, id: string): Promise<string | undefined> {
  return (await q.ok(['show', id])).records[0]!.limits;
}

describe('limits under direct', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    const hasUlimit = shell.name !== 'posh';

    test('memory: a 300 MB allocation fails under 50M and succeeds under 1G', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const small = await trySubmit(q, 'small', { command: ALLOC_300M, meta: { memory: '50M' } });
      if (!hasUlimit) {
        assert.equal(small.code, 69, small.stderr);
        assert.match(small.stderr, /cannot enforce memory 50M on this host \(submit with --allow-unenforced/);
        assert.ok(!existsSync(q.jobDir('small')), 'a refused job leaves nothing');
        return;
      }
      assert.equal(small.code, 0, small.stderr);
      const r = await q.waitState('small', ['finished', 'failed']);
      // ulimit -v: the allocation fails inside the job, which ends with its own error (python: 1)
      assert.equal(r.exit_code, '1');
      assert.match(q.jobFile('small', 'work/tej.stderr'), /MemoryError/);
      assert.equal(await shownLimits(q, 'small'), 'memory:50M:yes');

      await q.submit('big', { command: `${ALLOC_300M} && ${SHOW_LIMITS}`, meta: { memory: '1G' } });
      const big = await q.waitState('big', ['finished', 'failed']);
      assert.equal(big.exit_code, '0', q.jobFile('big', 'work/tej.stderr'));
      const out = q.jobFile('big', 'work/tej.stdout');
      assert.match(out, /^allocated 300$/m);
      assert.match(out, /^Max address space +1073741824 +1073741824 +bytes/m);
    });

    test('cpu_time: a busy loop is killed after a second of CPU (SIGKILL, 137)', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const job = { command: `${SHOW_LIMITS}; while :; do :; done`, meta: { cpu_time: '1' } };
      const r = await trySubmit(q, 'busy', job);
      if (!hasUlimit) {
        assert.equal(r.code, 69, r.stderr);
        assert.match(r.stderr, /cannot enforce cpu_time 1 /);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      const rec = await q.waitState('busy', ['finished', 'failed']);
      // soft = hard: the kernel sends SIGKILL at the limit, no SIGXCPU first
      assert.equal(rec.exit_code, '137');
      assert.match(q.jobFile('busy', 'work/tej.stdout'), /^Max cpu time +1 +1 +seconds/m);
    });

    test("max_processes: the shell's own option sets the job's RLIMIT_NPROC", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const r = await trySubmit(q, 'procs', { command: SHOW_LIMITS, meta: { max_processes: '20' } });
      if (!hasUlimit) {
        assert.equal(r.code, 69, r.stderr);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      const rec = await q.waitState('procs', ['finished', 'failed']);
      assert.equal(rec.exit_code, '0', q.jobFile('procs', 'work/tej.stderr'));
      assert.match(q.jobFile('procs', 'work/tej.stdout'), /^Max processes +20 +20 +processes/m);
      // dash spells it -p (its -u is an illegal option); bash's -p is the pipe size
      assert.equal(q.jobFile('procs', 'meta/ulimit'), `${shell.name === 'dash' ? '-p' : '-u'} 20\n`);
    });

    test('max_processes stops a loop of 20 background processes at the limit; without it all 20 start', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const job = () => ({ command: forkLoopAsLoneUser(), files: { 'loop.sh': FORK_LOOP } });
      const r = await trySubmit(q, 'bounded', { ...job(), meta: { max_processes: '12' } });
      if (!hasUlimit) {
        assert.equal(r.code, 69, r.stderr);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      await q.submit('free', job());
      await q.waitState('bounded', ['finished', 'failed']);
      await q.waitState('free', ['finished', 'failed']);
      assert.equal(startedOf(q.jobFile('free', 'work/tej.stdout')), 20, q.jobFile('free', 'work/tej.stderr'));
      // the loop's own shells count too: fewer than 12 readers
      const bounded = q.jobFile('bounded', 'work/tej.stdout');
      assert.ok(startedOf(bounded) < 12, bounded);
      assert.match(bounded, /^loop failed: [1-9]\d*$/m);
    });

    test('gpus, a partition and sbatch words are refused (69), and run unenforced with allow-unenforced', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const job = { command: 'echo ran', meta: { gpus: '1', 'slurm/partition': 'gpu', 'slurm/args/0000': '--exclusive' } };
      const refused = await trySubmit(q, 'gpu', job);
      assert.equal(refused.code, 69, refused.stderr);
      assert.match(refused.stderr, /the direct plugin cannot enforce gpus 1, partition gpu, sbatch_args 1 on this host \(submit with --allow-unenforced to run the job without it\)/);
      assert.ok(!existsSync(q.jobDir('gpu')));

      await q.submit('gpu', { ...job, meta: { ...job.meta, 'allow-unenforced': 'yes', memory: '2G' } });
      const rec = await q.waitState('gpu', ['finished', 'failed']);
      assert.equal(rec.exit_code, '0');
      assert.equal(q.jobFile('gpu', 'work/tej.stdout'), 'ran\n');
      assert.equal(await shownLimits(q, 'gpu'), `memory:2G:${hasUlimit ? 'yes' : 'no'} gpus:1:no partition:gpu:no sbatch_args:1:no`);
    });

    test("an upload's own ulimit and limits files are not submit's word", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('forged', { command: 'echo ran', meta: { ulimit: '-v 1', limits: 'memory:1K:yes' } });
      const rec = await q.waitState('forged', ['finished', 'failed']);
      assert.equal(rec.exit_code, '0', q.jobFile('forged', 'work/tej.stderr'));
      assert.equal(await shownLimits(q, 'forged'), undefined);
      assert.ok(!existsSync(join(q.jobDir('forged'), 'meta', 'ulimit')));
    });
  });

  eachShell({ where: (s) => s.name === 'dash' }, (shell) => {
    test('a bad limit value is refused as bad input (65)', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const [name, value] of [['memory', '5X'], ['memory', '0'], ['cpu_time', '-1'], ['max_processes', '0']]) {
        const r = await trySubmit(q, 'bad', { command: 'true', meta: { [name!]: value! } });
        assert.equal(r.code, 65, `${name}=${value}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`bad limit ${name}: '${value}'`));
      }
    });
  });
});
