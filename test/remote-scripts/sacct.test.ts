// lib/sacct.sh without Slurm: the parser over recorded sacct output (fixtures/slurm/, see its README),
// the lookup by job id, and what a settling job's usage becomes for each answer of a stand-in sacct.
// (The real slurmdbd: test/integration/slurm-sacct.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'slurm');

/** Runs SCRIPT under the queue's shell with the libraries, queues/slurm.sh and lib/sacct.sh (load_lib, as queue_states loads it). */
function withSlurmLib(q: HelperQueue, script: string, input = '', env: NodeJS.ProcessEnv = {}) {
  const [cmd, ...pre] = q.shell.argv;
  const libs = ['common', 'proc', 'state', 'answers'].map((l) => `. "$TEJ_ROOT/lib/${l}.sh"; `).join('');
  const r = spawnSync(cmd!, [...pre, '-c', `${libs}. "$TEJ_ROOT/queues/slurm.sh"; load_lib sacct; ${script}`], {
    env: { ...q.env, TEJ_ROOT: q.root, ...env },
    cwd: q.tmp,
    input,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** PATH with a stand-in sacct that prints TEXT and exits with STATUS. */
function fakeSacct(q: HelperQueue, text: string, status: number): string {
  const bin = join(q.tmp, 'fakebin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'text'), text);
  writeFileSync(join(bin, 'sacct'), `#!/bin/sh\necho "$*" >> "${bin}/calls"\ncat "${bin}/text" >&${status === 0 ? 1 : 2}\nexit ${status}\n`, { mode: 0o755 });
  return `${bin}:${process.env.PATH}`;
}

const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('the usage record from sacct, without Slurm', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test("reads each job's batch step: MaxRSS in bytes, CPU and elapsed in seconds; final or not", async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const ended = withSlurmLib(q, 'sacct_usage_parse', fixture('sacct-ended.txt'));
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(ended.stdout, [
        '1 final sacct 101797888 0.625 0.290 1.000', // 99412K
        '2 final -', // cancelled while held: no batch step
        '3 final -', // a job of a moment: no MaxRSS, so the wrapper's record stays
        '4 final sacct 3112960 0.002 0.000 30.000',
        '5_1 final sacct 1560576 0.512 0.000 3.000', // an array's tasks
        '5_2 final sacct 1581056 0.517 0.000 3.000', ''].join('\n'));
      // slurmdbd has the batch step running, the job still pending: not final
      assert.equal(withSlurmLib(q, 'sacct_usage_parse', fixture('sacct-running.txt')).stdout, '4 open -\n');
    });

    test('takes the units and the day form of the man page, and - for what is not in that form', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      // sacct(1): times are [DD-[HH:]]MM:SS[.mmm]; sizes K, M, G, T with 1024 steps
      const lines = [
        '7|1.50M|1-02:03:04|1-00:00:01.5|10:00.250|2-00:00:00|TIMEOUT|0:0',
        '7.batch|2G|1-02:03:04|1-00:00:01.5|10:00.250|2-00:00:00|CANCELLED|0:15',
        '8|||||||',
        '8.batch|12345|x|00:01|-5|1:2:3:4|COMPLETED|0:0',
        '9_[1-3]|||||00:00:00|PENDING|0:0',
        'garbage line',
        '10.extern|1K|00:00:00|00:00:00|00:00:00|00:00:01|COMPLETED|0:0',
        '10|hostile 1|00:00:00|00:00:00|00:00:00|00:00:01|COMPLETED|0:0',
        '10.batch|1K 2|00:00:00|00:00:00|00:00:00|00:00:01|COMPLETED|0:0', ''].join('\n');
      const r = withSlurmLib(q, 'sacct_usage_parse', lines);
      assert.equal(r.stdout, [
        '7 final sacct 2147483648 86401.500 600.250 172800.000',
        '8 final sacct 12345 1.000 - -',
        '10 final -', ''].join('\n'));
    });

    test('reads the answer in the order asked, by whole ids, passing over the jobs not looked up', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      // sacct lists 1 before 11, and 2 not at all
      const text = '1|||||00:00:01|RUNNING|0:0\n11|5K|00:01|00:01|00:00|00:00:01|COMPLETED|0:0\n' +
        '11.batch|5K|00:01|00:01|00:00|00:00:01|COMPLETED|0:0\n3||00:00:00|00:00:00|00:00:00|00:00:00|CANCELLED by 2001|0:0\n';
      const r = withSlurmLib(q, 'sacct_usage_ask 11,1,2,3; for i in 11 1 3 11 1_1; do sacct_usage_for $i; echo "$i $sacct_usage_word $sacct_usage_value"; done', '',
        { PATH: fakeSacct(q, text, 0) });
      assert.equal(r.code, 0, r.stderr);
      // 2 passed over; 11 a second time: already read
      assert.equal(r.stdout, '11 final sacct 5120 1.000 0.000 1.000\n1 open -\n3 final -\n11 none -\n1_1 none -\n');
      assert.equal(readFileSync(join(q.tmp, 'fakebin', 'calls'), 'utf8'),
        '-j 11,1,2,3 --noheader --parsable2 -o JobID,MaxRSS,TotalCPU,UserCPU,SystemCPU,Elapsed,State,ExitCode\n');
    });

    test('looks up the thousand tasks of an array in a moment: no search of the whole answer per task', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 1000 }, (_, i) => `100_${i}`);
      const text = ids.map((id) => `${id}||00:01|00:01|00:00|00:00:02|COMPLETED|0:0\n${id}.batch|99412K|00:01|00:01|00:00|00:00:02|COMPLETED|0:0\n`).join('');
      writeFileSync(join(q.tmp, 'ids'), ids.join(','));
      const start = process.hrtime.bigint();
      const r = withSlurmLib(q, 'sacct_usage_ask "$(cat ids)"; n=0; for i in $(tr , " " < ids); do sacct_usage_for $i; test "$sacct_usage_word" = final && n=$((n + 1)); done; echo $n', '',
        { PATH: fakeSacct(q, text, 0) });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      assert.equal(r.stdout, '1000\n', r.stderr);
      // a search of the whole answer per task took minutes under dash; the cursor a second or two
      assert.ok(seconds < 120, `${seconds} s`);
    });

    test("writes sacct's usage as the job settles, keeps the wrapper's without it, and waits for slurmdbd while squeue has the job", async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const job = join(q.tmp, 'job');
      mkdirSync(job);
      const settle = (text: string, status: number, squeueState: string) => {
        writeFileSync(join(job, 'usage'), 'time 52772864 1.02 0.03 1.10\n');
        const r = withSlurmLib(q, `sacct_usage_ask 4; if sacct_usage_settle "${job}" 4 ${squeueState}; then echo settle; else echo wait; fi`, '',
          { PATH: fakeSacct(q, text, status) });
        assert.equal(r.code, 0, r.stderr);
        return [r.stdout.trim(), readFileSync(join(job, 'usage'), 'utf8').trim()];
      };
      const ended = '4||00:00.002|00:00.002|00:00:00|00:00:30|COMPLETED|0:0\n4.batch|3040K|00:00.002|00:00.002|00:00:00|00:00:30|COMPLETED|0:0\n';
      assert.deepEqual(settle(ended, 0, 'COMPLETED'), ['settle', 'sacct 3112960 0.002 0.000 30.000']);
      // no accounting storage: the wrapper's record, now
      assert.deepEqual(settle(fixture('sacct-disabled.txt'), 1, 'COMPLETED'), ['settle', 'time 52772864 1.02 0.03 1.10']);
      // slurmdbd has not the end yet (or not the job): wait while squeue lists it, settle once it does not
      assert.deepEqual(settle(fixture('sacct-running.txt'), 0, 'COMPLETED'), ['wait', 'time 52772864 1.02 0.03 1.10']);
      assert.deepEqual(settle('', 0, 'COMPLETED'), ['wait', 'time 52772864 1.02 0.03 1.10']);
      assert.deepEqual(settle(fixture('sacct-running.txt'), 0, '-'), ['settle', 'time 52772864 1.02 0.03 1.10']);
      // a job of a moment (no MaxRSS): the wrapper's
      assert.deepEqual(settle('4||00:00.001|00:00.001|00:00:00|00:00:00|FAILED|3:0\n4.batch||00:00.001|00:00.001|00:00:00|00:00:00|FAILED|3:0\n', 0, 'FAILED'),
        ['settle', 'time 52772864 1.02 0.03 1.10']);
    });

    test('asks sacct about the jobs squeue says are over or forgot, in one call', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const joined = ['PENDING 1 /q/jobs/a', 'RUNNING 2 /q/jobs/b', 'COMPLETED 3 /q/jobs/c', 'TIMEOUT 4_2 /q/jobs/d/2',
        '- 5 /q/jobs/e', 'CANCELLED 6 /q/jobs/f', 'DEPENDENCY_NEVER_SATISFIED 7 /q/jobs/g', 'COMPLETED x;y /q/jobs/h'].join('\n');
      const r = withSlurmLib(q, `sacct_usage_ids '${joined}'`);
      assert.equal(r.stdout, '3,4_2,5,6\n');
    });
  });
});
