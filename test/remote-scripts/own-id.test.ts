// queue_own_id, which where, exec and shell ask before they reach a running job's node or allocation:
// native-id is in the job's reach, and a job that wrote another job's id there (another job of the same
// user) must not get `tej exec` run in that job's allocation (srun --jobid), nor `tej forward` sent to
// its node. Each batch plugin answers only with an id its scheduler shows as the job's own (Slurm: name
// and comment; Grid Engine: owner, name and context; PBS: owner and tag), else the job's own found by
// name, else none (1); 2 when the scheduler does not answer. The schedulers are stand-ins printing what
// the real ones print (the real ones: test/integration/slurm-exec.test.ts and the sge/pbs suites).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, type Shell, SHELLS } from './_shells.js';

/**
 * Stand-ins in DIR/bin that print $STUB/<name>.out (exit 1 when $STUB/<name>.fail exists); qstat -j ID
 * prints $STUB/qstat-j-ID, qstat -xml $STUB/qstat.xml (exit 1 when $STUB/qstat-xml.fail exists). Each
 * call is written to $STUB/calls.
 */
function stubs(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const name of ['squeue', 'qstat']) {
    writeFileSync(
      join(bin, name),
      `#!/bin/sh
echo "${name} $*" >>"$STUB/calls"
test ! -e "$STUB/${name}.fail" || { echo "${name}: cannot reach the controller" >&2; exit 1; }
if test "${name}" = qstat; then
	for a in "$@"; do
		case $prev in -j) if test -f "$STUB/qstat-j-$a"; then cat "$STUB/qstat-j-$a"; exit 0; fi
			echo "Following jobs do not exist: $a" >&2; exit 1 ;; esac
		prev=$a
	done
	case " $* " in *" -xml "*) test ! -e "$STUB/qstat-xml.fail" || exit 1; cat "$STUB/qstat.xml"; exit 0 ;; esac
fi
cat "$STUB/${name}.out"
`,
    );
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

function jobDir(q: HelperQueue, id: string, attempt: string): void {
  mkdirSync(join(q.jobDir(id), 'work'), { recursive: true });
  mkdirSync(join(q.jobDir(id), 'meta'), { recursive: true });
  writeFileSync(join(q.jobDir(id), 'attempt'), `${attempt}\n`);
}

/** Runs SCRIPT under the queue's shell with the plugin loaded as load_queue loads it (the defaults first), the stand-ins first on PATH. */
function withPlugin(q: HelperQueue, plugin: string, stub: string, script: string) {
  const [cmd, ...pre] = q.shell.argv;
  const r = spawnSync(cmd!, [...pre, '-c', `. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/proc.sh"; . "$TEJ_ROOT/lib/batch.sh"; queue_defaults; . "$TEJ_ROOT/queues/${plugin}.sh"; J=$TEJ_ROOT/jobs; ${script}`], {
    env: { ...q.env, TEJ_ROOT: q.root, STUB: stub, PATH: `${stubs(q.tmp)}:${q.env.PATH ?? process.env.PATH}` },
    cwd: q.tmp,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** "CODE:OUTPUT" of queue_own_id for each NATIVE on the job dir ID (one line each). */
const ASK = (id: string, natives: string[]) => natives.map((n) => `o=$(queue_own_id "$J/${id}" '${n}') && echo "0:$o" || echo "$?:"`).join('; ');

/** qstat -j records of 20 (victim's) and 21 (liar's) and the -xml listing of both, from the plugin's own sge_context. */
function sgeRecords(q: HelperQueue, stub: string): void {
  const made = withPlugin(q, 'sge', stub, `me=$(id -un)
for x in 20:victim 21:liar; do n=\${x%%:*} name=\${x#*:}
	printf 'job_number: %s\\nowner: %s\\njob_name: %s\\ncontext: PATH=/bin,%s\\n' "$n" "$me" "$name" "$(sge_context "$J/$name")" >"$STUB/qstat-j-$n"
done
printf '<job_info>\\n<queue_info>\\n<job_list state="running">\\n<JB_job_number>20</JB_job_number>\\n<JB_name>victim</JB_name>\\n</job_list>\\n<job_list state="running">\\n<JB_job_number>21</JB_job_number>\\n<JB_name>liar</JB_name>\\n</job_list>\\n</queue_info>\\n</job_info>\\n' >"$STUB/qstat.xml"`);
  assert.equal(made.code, 0, made.stderr);
}

/** A queue with the jobs liar (attempt a1) and victim (a9), and an empty stand-in directory. */
function liarQueue(shell: Shell, t: TestContext): { q: HelperQueue; stub: string } {
  const q = new HelperQueue(shell);
  t.after(() => q.cleanUp());
  jobDir(q, 'liar', 'a1');
  jobDir(q, 'victim', 'a9');
  const stub = join(q.tmp, 'stub');
  mkdirSync(stub);
  return { q, stub };
}

/**
 * With the scheduler's listing EMPTIED (FILE and what it then holds), a forged id gives none (1); with
 * the scheduler down (CMD.fail), the job's own id gives no answer (2).
 */
function noneThenDown(q: HelperQueue, plugin: string, stub: string, emptied: [file: string, content: string], cmd: string, forged: string, own: string): void {
  writeFileSync(join(stub, emptied[0]), emptied[1]);
  assert.equal(withPlugin(q, plugin, stub, ASK('liar', [forged])).stdout, '1:\n', 'none of its own: none');
  writeFileSync(join(stub, `${cmd}.fail`), '');
  assert.equal(withPlugin(q, plugin, stub, ASK('liar', [own])).stdout, '2:\n', 'no answer');
}

describe('queue_own_id: the job tej made, never the one a job named', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('slurm: the id squeue shows with the job\'s name and comment; a forged one gives the job\'s own', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      jobDir(q, 'arr', 'a2');
      mkdirSync(join(q.jobDir('arr'), '1'));
      const j = join(q.root, 'jobs');
      // %F %k and %i %k alike: a job's own id, then its comment (slurm_comment)
      writeFileSync(join(stub, 'squeue.out'), `20 tej ${j}/victim a9\n21 tej ${j}/liar a1\n30 tej ${j}/arr a2\n`);
      const r = withPlugin(q, 'slurm', stub, `${ASK('liar', ['21', '20', '20_1'])}; ${ASK('arr/1', ['30_1', '20_1'])}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ['0:21', '0:21', '0:21', '0:30_1', '1:', ''].join('\n'));
      noneThenDown(q, 'slurm', stub, ['squeue.out', `20 tej ${j}/victim a9\n`], 'squeue', '20', '21');
    });

    test('sge: the id qstat -j shows as this user\'s, with the job\'s name and context; a forged one gives the job\'s own', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      sgeRecords(q, stub);
      const r = withPlugin(q, 'sge', stub, ASK('liar', ['21', '20', '20.3', '99']));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ['0:21', '0:21', '0:21', '0:21', ''].join('\n'));
      noneThenDown(q, 'sge', stub, ['qstat.xml', '<job_info>\n</job_info>\n'], 'qstat', '20', '21');
    });

    test('sge: kill asks what queue_own_id asks: a forged id whose job\'s own qstat cannot list is no answer (75), never nothing to kill', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      sgeRecords(q, stub);
      // qstat -j 20 says victim's; the listing that would find liar's own fails
      writeFileSync(join(stub, 'qstat-xml.fail'), '');
      const r = withPlugin(q, 'sge', stub, `${ASK('liar', ['20'])}; st=0; queue_kill "$J/liar" 20 0 || st=$?; echo "kill:$st"`);
      assert.equal(r.stdout, '2:\nkill:75\n', r.stderr);
      assert.doesNotMatch(readFileSync(join(stub, 'calls'), 'utf8'), /qdel/);
    });

    test('pbs: the id qstat -f shows as this user\'s with the job\'s tag; a forged one gives the job\'s own', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      const made = withPlugin(q, 'pbs', stub, `me=$(id -un)
for x in 20:victim 21:liar; do n=\${x%%:*} name=\${x#*:}
	printf 'Job Id: %s.server\\n    Job_Name = %s\\n    Job_Owner = %s@login\\n    job_state = R\\n\\n' "$n" "$(pbs_tag "$J/$name")" "$me"
done >"$STUB/qstat.out"`);
      assert.equal(made.code, 0, made.stderr);
      const r = withPlugin(q, 'pbs', stub, ASK('liar', ['21.server', '20.server', '-x']));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ['0:21.server', '0:21.server', '0:21.server', ''].join('\n'));
      noneThenDown(q, 'pbs', stub, ['qstat.out', ''], 'qstat', '20.server', '21.server');
    });

    test('pbs: a forged id gives the job\'s own from the same qstat -f that judged it (one listing)', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      const made = withPlugin(q, 'pbs', stub, `printf 'Job Id: 21.server\\n    Job_Name = %s\\n    Job_Owner = %s@login\\n\\n' "$(pbs_tag "$J/liar")" "$(id -un)" >"$STUB/qstat.out"`);
      assert.equal(made.code, 0, made.stderr);
      const r = withPlugin(q, 'pbs', stub, ASK('liar', ['20.server']));
      assert.equal(r.stdout, '0:21.server\n', r.stderr);
      assert.equal(readFileSync(join(stub, 'calls'), 'utf8'), 'qstat -f\n');
    });

    test('where and exec die with 69 when the scheduler shows none, 75 when it does not answer (job_own_native)', async (t) => {
      const { q, stub } = liarQueue(shell, t);
      writeFileSync(join(stub, 'squeue.out'), '');
      const none = withPlugin(q, 'slurm', stub, 'job_native=20; job_own_native "$J/liar" liar; echo "not reached"');
      assert.equal(none.code, 69, none.stderr);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /the scheduler shows no job of tej's for job liar: it may have ended just now \('tej status --id liar' tells\)/);
      writeFileSync(join(stub, 'squeue.fail'), '');
      const down = withPlugin(q, 'slurm', stub, 'job_native=20; job_own_native "$J/liar" liar; echo "not reached"');
      assert.equal(down.code, 75, down.stderr);
      assert.match(down.stderr, /the scheduler did not answer about job liar: try again/);
      const direct = withPlugin(q, 'direct', stub, 'job_native=4242; job_own_native "$J/liar" liar; echo "$job_native"');
      assert.equal(direct.stdout, '4242\n', 'direct vouches for the pid its state proved');
    });
  });
});
