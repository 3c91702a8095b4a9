// The parts of the slurm plugin, and of the batch state interface, that run without Slurm: the state
// mapping, the --time rounding, which sbatch errors are retried, queue_check, and status/list asking a
// plugin once for all its jobs. (Everything that needs Slurm is in test/integration/slurm.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** Runs SCRIPT under the queue's shell with common.sh and queues/slurm.sh loaded. */
function withSlurmLib(q: HelperQueue, script: string) {
  const [cmd, ...pre] = q.shell.argv;
  const r = spawnSync(cmd!, [...pre, '-c', `. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/batch.sh"; . "$TEJ_ROOT/queues/slurm.sh"; ${script}`], {
    env: { ...q.env, TEJ_ROOT: q.root },
    cwd: q.tmp,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the slurm plugin without Slurm', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('maps every Slurm job state onto the shared vocabulary', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const cases: Record<string, string> = {
        PENDING: 'queued',
        REQUEUED: 'queued',
        CONFIGURING: 'queued',
        RUNNING: 'running',
        COMPLETING: 'running',
        SUSPENDED: 'running',
        COMPLETED: 'ended',
        FAILED: 'ended',
        OUT_OF_MEMORY: 'ended',
        CANCELLED: 'killed',
        'CANCELLED+': 'killed',
        TIMEOUT: 'timeout',
        DEADLINE: 'timeout',
        NODE_FAIL: 'lost',
        BOOT_FAIL: 'lost',
        PREEMPTED: 'lost',
        '-': 'gone',
      };
      const words = Object.keys(cases).map((s) => `'${s}'`).join(' ');
      const r = withSlurmLib(q, `for s in ${words}; do printf '%s=%s\\n' "$s" "$(slurm_word "$s")"; done; slurm_word ''`);
      assert.equal(r.code, 0, r.stderr);
      const expected = Object.entries(cases).map(([s, w]) => `${s}=${w}\n`).join('') + 'gone\n';
      assert.equal(r.stdout, expected);
    });

    test("joins squeue's answer to the jobs asked about, a time limit seen while Slurm ends the job as TIMEOUT", async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const j = `${q.root}/jobs`;
      const squeueOut = [`5 COMPLETING TimeLimit|a|tej ${j}/a 1`, `6 RUNNING None|other|`, `8 COMPLETING None|c|tej ${j}/c`, `9 PENDING Resources|d|tej ${j}/d x`].join('\n');
      writeFileSync(join(q.tmp, 'squeue.txt'), squeueOut);
      writeFileSync(join(q.tmp, 'asked.txt'), `5 ${j}/a\n7 /q u e/jobs/b\n8 ${j}/c\n9 ${j}/d\n`);
      const r = withSlurmLib(q, 'slurm_join "$(cat squeue.txt)" < asked.txt');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `TIMEOUT 5 ${j}/a\n- 7 /q u e/jobs/b\nCOMPLETING 8 ${j}/c\nPENDING 9 ${j}/d\n`);
    });

    test('takes a state only from what squeue and sacct show as the job\'s own: a rewritten native-id gives no other job\'s', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const j = `${q.root}/jobs`;
      // 20: another job of the user's; 21: forger's own (found by name and comment); 22: named after
      // forger2 with another directory; 30_[1-2]: the pending tasks of array arr, 31_1 another's task
      const squeueOut = [`20 PENDING JobHeldUser|victim|`, `21 RUNNING None|forger|tej ${j}/forger 1`, `22 RUNNING None|forger2|tej ${j}/forger2x 1`,
        `30_[1-2] PENDING None|arr|tej ${j}/arr 1`, `31_1 RUNNING None|arr|tej /elsewhere/jobs/arr 1`].join('\n');
      writeFileSync(join(q.tmp, 'squeue.txt'), squeueOut);
      writeFileSync(join(q.tmp, 'asked.txt'), [`20 ${j}/forger`, `20 ${j}/forger2`, `21 ${j}/other`, `30_2 ${j}/arr/1`, `31_1 ${j}/arr/0`, `40 ${j}/old`, `41 ${j}/old2`, ''].join('\n'));
      const r = withSlurmLib(q, 'slurm_join "$(cat squeue.txt)" < asked.txt > joined.txt; cat joined.txt; echo; slurm_sacct_join "$(printf \'40|CANCELLED by 5|old\\n41|COMPLETED|victim\\n\')" < joined.txt');
      assert.equal(r.code, 0, r.stderr);
      // ?: the id is another job's (queue_states then answers from the job's own files)
      assert.equal(r.stdout, [`RUNNING 21 ${j}/forger`, `? - ${j}/forger2`, `? - ${j}/other`, `PENDING 30_2 ${j}/arr/1`, `? - ${j}/arr/0`, `- 40 ${j}/old`, `- 41 ${j}/old2`, '',
        `RUNNING 21 RUNNING ${j}/forger`, `? - ? ${j}/forger2`, `? - ? ${j}/other`, `PENDING 30_2 PENDING ${j}/arr/1`, `? - ? ${j}/arr/0`, `CANCELLED 40 - ${j}/old`, `? - - ${j}/old2`, ''].join('\n'));
    });

    test('writes a batch script that passes shellcheck and holds no job data', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const r = withSlurmLib(q, 'slurm_batch_script > batch.sh');
      assert.equal(r.code, 0, r.stderr);
      const text = readFileSync(join(q.tmp, 'batch.sh'), 'utf8');
      assert.match(text, /^#!\/bin\/sh\n/);
      assert.doesNotMatch(text, /tej-remote-test|\/jobs\//, 'the job directory is an argument, not part of the text');
      const check = spawnSync('shellcheck', ['-s', 'sh', join(q.tmp, 'batch.sh')], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      // From the helper program: the wrapper's code is in the text, as the program holds it, and
      // neither the job directory nor a path of a helper is.
      const m = withSlurmLib(q, 'tej_in_memory=1 tej_text_libs=$(cat "$TEJ_ROOT/lib/common.sh" "$TEJ_ROOT/lib/proc.sh" "$TEJ_ROOT/lib/state.sh" "$TEJ_ROOT/lib/answers.sh" "$TEJ_ROOT/lib/record.sh" "$TEJ_ROOT/lib/kill.sh") tej_text_run_job=$(cat "$TEJ_ROOT/lib/run-job.sh"); slurm_batch_script > batch-m.sh');
      assert.equal(m.code, 0, m.stderr);
      const inMemory = readFileSync(join(q.tmp, 'batch-m.sh'), 'utf8');
      assert.doesNotMatch(inMemory, /tej-remote-test/, 'no path of the queue or the job');
      assert.ok(!inMemory.includes('set -- "$TEJ_ROOT/lib/run-job.sh"') && !inMemory.includes('sha256sum -c MANIFEST'), 'no helper file is run or checked');
      assert.ok(text.includes('set -- "$TEJ_ROOT/lib/run-job.sh"'), 'from files the wrapper is the file');
      assert.ok(inMemory.includes('"usage: run-job.sh JOB_DIR"'), 'the wrapper\'s text is in the script');
      const checkM = spawnSync('shellcheck', ['-s', 'sh', '-e', 'SC2016', join(q.tmp, 'batch-m.sh')], { encoding: 'utf8' });
      assert.equal(checkM.status, 0, checkM.stdout + checkM.stderr);
    });

    test("rounds a time limit up to whole minutes plus one, Slurm's backstop behind the wrapper's limit", async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const r = withSlurmLib(q, 'for s in 1 59 60 61 3600; do slurm_minutes "$s"; done');
      assert.equal(r.stdout, '2\n2\n2\n3\n61\n');
    });

    test('retries sbatch only when its error says slurmctld did not answer', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const errors = {
        'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation': 'retry',
        'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)': 'retry',
        'sbatch: error: Batch job submission failed: Invalid partition name specified': 'fail',
        'sbatch: error: invalid number of cpus': 'fail',
      };
      for (const [i, message] of Object.keys(errors).entries()) writeFileSync(join(q.tmp, `err${i}`), `${message}\n`);
      const r = withSlurmLib(q, 'for f in err0 err1 err2 err3; do if slurm_transient "$f"; then echo retry; else echo fail; fi; done');
      assert.equal(r.stdout, `${Object.values(errors).join('\n')}\n`);
    });

    test('setup --plugin slurm exits 69 and says why on a host without sbatch; setup suggests slurm where sbatch is', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      // A PATH with every command of /usr/bin and /bin but Slurm's.
      const bin = join(q.tmp, 'bin');
      mkdirSync(bin);
      for (const dir of ['/usr/bin', '/bin']) {
        for (const name of readdirSync(dir)) {
          // (and Grid Engine's, which this machine has too: setup would suggest sge)
          if (['sbatch', 'squeue', 'scancel', 'sacct', 'qsub', 'qstat', 'qdel'].includes(name)) continue;
          try {
            symlinkSync(join(dir, name), join(bin, name));
          } catch {
            // the same name in both directories
          }
        }
      }
      const r = await q.run(['setup', '--plugin', 'slurm'], { env: { PATH: bin } });
      assert.equal(r.code, 69, r.stderr);
      assert.match(r.stderr, /the slurm plugin needs 'sbatch' on this host/);
      // direct works, and setup suggests slurm only where sbatch is (this machine has Slurm's client)
      const plain = parseReply((await q.run(['setup'], { env: { PATH: bin } })).stdout);
      assert.equal(plain.header.plugin, 'direct');
      assert.equal(plain.header.suggest_plugin, undefined);
      symlinkSync('/usr/bin/sbatch', join(bin, 'sbatch'));
      const suggested = parseReply((await q.run(['setup'], { env: { PATH: bin } })).stdout);
      assert.equal(suggested.header.plugin, 'direct', 'never switched silently');
      assert.equal(suggested.header.suggest_plugin, 'slurm');
    });

    test("TEJ_JOB_NPROC is the plugin's allocation (TEJ_ALLOC_NPROC) over the cpus asked for", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const job = await jobTar({ command: 'echo "$TEJ_JOB_NPROC ${TEJ_ALLOC_NPROC-unset}" > n.txt', nproc: 3 });
      // direct passes its environment on to the wrapper, as slurm's batch script does
      const r = await q.run(['submit', 'alloc', 'N0nce'], { input: job, env: { TEJ_ALLOC_NPROC: '5' } });
      assert.equal(r.code, 0, r.stderr);
      await q.submit('asked', { command: 'echo "$TEJ_JOB_NPROC" > n.txt', nproc: 3 });
      await q.waitState('alloc', ['finished']);
      await q.waitState('asked', ['finished']);
      assert.equal(readFileSync(join(q.jobDir('alloc'), 'work', 'n.txt'), 'utf8'), '5 unset\n');
      assert.equal(readFileSync(join(q.jobDir('asked'), 'work', 'n.txt'), 'utf8'), '3\n');
    });

    test('show, status and list run squeue once per command, whatever the number of jobs', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const bin = join(q.tmp, 'fakebin');
      mkdirSync(bin);
      const calls = join(q.tmp, 'squeue-calls');
      writeFileSync(join(bin, 'squeue'), `#!/bin/sh\necho squeue >> '${calls}'\necho '1 RUNNING None|j1|tej ${q.jobDir('j1')} 1'\n`, { mode: 0o755 });
      writeFileSync(join(bin, 'sacct'), `#!/bin/sh\necho sacct >> '${calls}'\n`, { mode: 0o755 });
      for (const id of ['j1', 'j2', 'j3', 'j4']) q.fakeJob(id, { plugin: 'slurm', 'native-id': id === 'j1' ? '1' : '7', start: '101' });
      const env = { PATH: `${bin}:${process.env.PATH}` };
      for (const args of [['show', 'j1', 'j2', 'j3'], ['show', '--brief', 'j1', 'j2'], ['status', 'j1', 'j2', 'j3', 'j4'], ['list']]) {
        writeFileSync(calls, '');
        const r = await q.run(args, { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(readFileSync(calls, 'utf8').split('\n').filter((l) => l === 'squeue').length, 1, `${args.join(' ')}: ${readFileSync(calls, 'utf8')}`);
        assert.equal(parseReply(r.stdout).records.find((x) => x.id === 'j1')?.state, 'running', args.join(' '));
      }
    });

    test("status and list ask a plugin's queue_states once for all its jobs, and only about open ones", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const calls = join(q.tmp, 'calls');
      // A plugin that answers for many jobs at once, from each job's plugin-says, and logs its input.
      q.writePlugin('batchy', [
        'queue_check() { return 0; }',
        'queue_state() { echo "queue_state $1" >> "$TEJ_ROOT/../calls"; echo lost; }',
        'queue_states() {',
        '  echo "queue_states" >> "$TEJ_ROOT/../calls"',
        '  while read -r native dir; do',
        '    echo "  $native ${dir##*/}" >> "$TEJ_ROOT/../calls"',
        '    printf "%s %s %s\\n" "$(cat "$dir/plugin-says")" "NATIVE_$native" "$dir"',
        '  done',
        '}',
      ]);
      q.fakeJob('a', { 'plugin-says': 'queued' });
      q.fakeJob('b', { 'plugin-says': 'running', start: '101' });
      q.fakeJob('c', { 'plugin-says': 'timeout', start: '101' });
      // ended: no question, unless the plugin still has to confirm the end (native-open)
      q.fakeJob('d', { 'plugin-says': 'running', start: '101', end: '102', 'exit-code': '0' });
      q.fakeJob('e', { 'plugin-says': 'running', start: '101', end: '102', 'exit-code': '1', 'native-open': '100' });
      q.fakeJob('f', { 'plugin-says': 'ended', start: '101', end: '102', 'exit-code': '0', 'native-state': 'DONE' });

      const list = await q.ok(['list']);
      assert.equal(readFileSync(calls, 'utf8'), 'queue_states\n  n-a a\n  n-b b\n  n-c c\n  n-e e\n');
      const got = Object.fromEntries(list.records.map((r) => [r.id, `${r.state} ${r.native_state ?? '-'}`]));
      assert.deepEqual(got, {
        a: 'queued NATIVE_n-a',
        b: 'running NATIVE_n-b',
        c: 'timeout NATIVE_n-c',
        d: 'finished -',
        e: 'finished NATIVE_n-e',
        f: 'finished DONE',
      });

      writeFileSync(calls, '');
      const status = await q.ok(['status', 'c', 'd', 'a', 'nosuch']);
      assert.equal(readFileSync(calls, 'utf8'), 'queue_states\n  n-c c\n  n-a a\n');
      assert.deepEqual(
        status.records.map((r) => `${r.id} ${r.state}`),
        ['c timeout', 'd finished', 'a queued', 'nosuch absent'],
      );
    });
  });
});
