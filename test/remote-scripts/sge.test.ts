// The parts of the sge plugin that run without Grid Engine: the state mapping, the h_rt and h_vmem
// arithmetic, which qsub errors are retried, the batch script's text, queue_states over recorded qstat
// listings (fixtures/sge/), and setup's suggestion. (Everything that needs Grid Engine is in
// test/integration/sge.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'sge');

/** Runs SCRIPT under the queue's shell with common.sh, queues/sge.sh and lib/gridengine.sh (which the plugin loads where it uses it) loaded; PATH from env. */
function withSgeLib(q: HelperQueue, script: string, env: NodeJS.ProcessEnv = {}) {
  const [cmd, ...pre] = q.shell.argv;
  const r = spawnSync(cmd!, [...pre, '-c', `. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/proc.sh"; . "$TEJ_ROOT/lib/state.sh"; . "$TEJ_ROOT/lib/answers.sh"; . "$TEJ_ROOT/lib/batch.sh"; . "$TEJ_ROOT/queues/sge.sh"; load_lib gridengine; ${script}`], {
    env: { ...q.env, TEJ_ROOT: q.root, ...env },
    cwd: q.tmp,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directory of executables NAME -> sh TEXT, for PATH: recorded answers of Grid Engine's commands. */
function fakeBin(q: HelperQueue, scripts: Record<string, string>): string {
  const bin = join(q.tmp, 'fakebin');
  mkdirSync(bin, { recursive: true });
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(bin, name), `#!/bin/sh\n${text}\n`, { mode: 0o755 });
  return bin;
}

describe('the sge plugin without Grid Engine', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('maps every Grid Engine job state, and every qacct verdict, onto the shared vocabulary', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const cases: Record<string, string> = {
        qw: 'queued', hqw: 'queued', hRwq: 'queued', Rq: 'queued', Eqw: 'queued',
        r: 'running', t: 'running', Rr: 'running', Rt: 'running', s: 'running', S: 'running', T: 'running',
        dr: 'running', dt: 'running',
        'failed=0': 'ended', 'failed=37': 'timeout', 'failed=100': 'killed', 'failed=26': 'lost',
        '-': 'gone',
      };
      const r = withSgeLib(q, `for s in ${Object.keys(cases).join(' ')}; do printf '%s=%s\\n' "$s" "$(sge_word "$s")"; done`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, Object.entries(cases).map(([s, w]) => `${s}=${w}\n`).join(''));
    });

    test('gives h_rt a minute behind the wrapper, and shares the memory among the slots', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const r = withSgeLib(q, 'for s in 1 60 61 600; do sge_seconds "$s"; done; sge_memory 64M 2; sge_memory 4G 1; sge_memory 3G 2; sge_memory 1000K 1; sge_memory 512 2; sge_memory 1.5G 1');
      assert.equal(r.stdout, '120\n120\n180\n660\n32M\n4096M\n1536M\n1M\n256M\n1.5G\n');
    });

    test("reads an array's tasks from qstat's listing: a line per running task, the waiting ones as ranges and lists", async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const lines = (f: string) => withSgeLib(q, `sge_lines < "${join(FIXTURES, f)}"`).stdout;
      assert.equal(lines('qstat-u-array-ranges.txt'), ['1.1 r all.q@g1', '1.2 r all.q@g1', '1.3 qw -', '1.4 qw -', '1.5 qw -', '1.6 qw -', '2.2 hqw -', '2.6 hqw -', '2.10 hqw -', ''].join('\n'));
      assert.equal(lines('qstat-u-array-tasks.txt'), ['1.1 r all.q@g1', '1.2 r all.q@g1', '1.3 qw -', '1.5 qw -', '1.6 qw -', '2.2 hqw -', '2.10 hqw -', ''].join('\n'));
      // a job that is no array: its id alone
      assert.equal(lines('qstat-u-running-queued-held.txt'), '1 r all.q@g1\n2 qw -\n3 hqw -\n');
    });

    test('retries qsub only when its error says the qmaster did not answer', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const errors = {
        'error: commlib error: got select error (Connection refused)\nunable to contact qmaster using port 6444 on host "g1"': 'retry',
        'Unable to run job: failed receiving gdi request response for mid=1 (got syncron message receive timeout error).': 'retry',
        'Unable to run job: Job was rejected because job requests unknown queue "nope.q".': 'fail',
        'Unable to run job: job rejected: the requested parallel environment "mpi" does not exist.': 'fail',
      };
      Object.keys(errors).forEach((e, i) => writeFileSync(join(q.tmp, `err${i}`), `${e}\n`));
      const r = withSgeLib(q, 'for f in err0 err1 err2 err3; do if sge_transient "$f"; then echo retry; else echo fail; fi; done');
      assert.equal(r.stdout, `${Object.values(errors).join('\n')}\n`);
    });

    test('writes a batch script that passes shellcheck and holds no job data', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      assert.equal(withSgeLib(q, 'sge_batch_script > batch.sh').code, 0);
      const text = readFileSync(join(q.tmp, 'batch.sh'), 'utf8');
      assert.doesNotMatch(text, /tej-remote-test|\/jobs\//);
      assert.doesNotMatch(text, /^\s*setsid /m, 'the wrapper stays in the group Grid Engine kills');
      const check = spawnSync('shellcheck', ['-s', 'sh', join(q.tmp, 'batch.sh')], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
    });

    test('joins a recorded qstat -xml listing to the jobs asked about, with one qstat call and qacct for the rest, by the job\'s name', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      // fixtures/sge/qstat-u-xml-mixed.txt lists 1 tejA (r), 2 a-very-long-job-name.x (qw), 3 tejC (hqw),
      // array 4 arr (task 1 r, 2-6 qw), array 5 stepd (hqw)
      const names = ['tejA', 'a-very-long-job-name.x', 'seven', 'nine', 'forged', 'eight', 'arr/2', 'arr/1'];
      const jobs = names.map((id) => {
        const dir = join(q.root, 'jobs', id);
        mkdirSync(dir, { recursive: true });
        return dir;
      });
      for (const i of [3, 4, 5]) writeFileSync(join(jobs[i]!, 'start'), '100\n'); // ran, recorded no end
      const bin = fakeBin(q, {
        qstat: `echo "qstat $*" >> "${q.tmp}/calls"; cat "${join(FIXTURES, 'qstat-u-xml-mixed.txt')}"`,
        qacct: `echo "qacct $*" >> "${q.tmp}/calls"; case $2 in 7) printf 'jobname      seven\\njobnumber 7\\nfailed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit\\n' ;;
8) printf 'jobname      other\\njobnumber 8\\nfailed       0\\n' ;; *) echo "error: job id $2 not found" >&2; exit 1 ;; esac`,
      });
      // tejA's native-id says 3 (tejC's), forged's 1 (tejA's): each is listed under another name
      const asked = ['3', '2', '7', '9', '1', '8', '4.3', '4.1'].map((n, i) => `${n} ${jobs[i]}`).join('\n');
      const r = withSgeLib(q, `printf '%s\\n' '${asked}' | queue_states`, { PATH: `${bin}:${process.env.PATH}` });
      assert.equal(r.code, 0, r.stderr);
      // forged: 1 is listed as tejA's, so its own files answer (it ran: running), nothing settled
      assert.equal(r.stdout, [`running r ${jobs[0]}`, `queued qw ${jobs[1]}`, `timeout failed=37 ${jobs[2]}`, `lost - ${jobs[3]}`, `running - ${jobs[4]}`, `lost - ${jobs[5]}`,
        `queued qw ${jobs[6]}`, `running r ${jobs[7]}`].join('\n') + '\n');
      // no qacct for an id listed under another name; qacct's record of 8 is another job's
      assert.equal(readFileSync(join(q.tmp, 'calls'), 'utf8'), `qstat -u ${userInfo().username} -xml\nqacct -j 7\nqacct -j 9\nqacct -j 8\n`);
      assert.equal(readFileSync(join(jobs[2]!, 'native-state'), 'utf8'), 'failed=37\n');
      assert.ok(readdirSync(jobs[2]!).includes('timed-out'));
      assert.ok(!readdirSync(jobs[3]!).includes('native-state'), 'not settled: qacct is asked again next time');
    });

    test('reads every job and task of a recorded qstat -xml listing, names whole', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const lines = (f: string) => withSgeLib(q, `sge_xml_lines < "${join(FIXTURES, f)}"`).stdout;
      assert.equal(lines('qstat-u-xml-mixed.txt'), ['1 r all.q@g1 tejA', '4.1 r all.q@g1 arr', '2 qw - a-very-long-job-name.x', '3 hqw - tejC',
        '4.2 qw - arr', '4.3 qw - arr', '4.4 qw - arr', '4.5 qw - arr', '4.6 qw - arr', '5.2 hqw - stepd', '5.6 hqw - stepd', '5.10 hqw - stepd', ''].join('\n'));
      assert.match(lines('qstat-u-xml-task-lists.txt'), /^4\.2 qw - arr\n4\.3 qw - arr\n4\.5 qw - arr\n4\.6 qw - arr\n5\.2 hqw - stepd\n5\.10 hqw - stepd\n$/m);
    });

    test('qdel only of what qstat -j shows as tej\'s: the user\'s, named after the job (its array for a task), with its directory in the context', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const bin = fakeBin(q, {
        // 5: the job's; 6: another name; 7: another owner; 8: the qmaster does not answer; else: unknown
        qstat: `echo "qstat $*" >> "${q.tmp}/calls"; case $2 in
5 | 6 | 7) printf 'job_number:                 %s\\nowner:                      %s\\njob_name:                   %s\\ncontext:                    tej_attempt=x,%s\\n' "$2" "$(test "$2" = 7 && echo mallory || id -un)" "$(test "$2" = 6 && echo other || echo myjob)" "$CTX" ;;
8) echo 'error: commlib error: got select error (Connection refused)' >&2; exit 1 ;;
*) printf 'Following jobs do not exist: \\n%s\\n' "$2" >&2; exit 1 ;;
esac`,
      });
      const script = `d=$TEJ_ROOT/jobs/myjob; mkdir -p "$d/3"; CTX=$(sge_context "$d"); CTX=\${CTX#*,}; export CTX
for n in 5 5.2 6 7 8 9 --user=x 5x 05 5. 5.0; do sge_owned_dir=; st=0; sge_owned "$d" "$n" || st=$?; echo "$n $st"; done
sge_owned_dir=; st=0; sge_owned "$d/3" 5.3 || st=$?; echo "task $st"`;
      const r = withSgeLib(q, script, { PATH: `${bin}:${process.env.PATH}` });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ['5 0', '5.2 0', '6 1', '7 1', '8 2', '9 1', '--user=x 1', '5x 1', '05 1', '5. 1', '5.0 1', 'task 0', ''].join('\n'));
      // a word that is no Grid Engine id never reaches qstat
      assert.equal(readFileSync(join(q.tmp, 'calls'), 'utf8'), ['5', '5', '6', '7', '8', '9', '05', '5'].map((n) => `qstat -j ${n}\n`).join(''));
    });

    test('holds a job with -hold_jid only on what qstat shows as its dependencies\' own jobs: a job not ended, each of an array\'s, a task\'s array', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      // qstat -j N answers from $QJ/N ("do not exist" without one), -xml from $QJ/xml
      const bin = fakeBin(q, {
        qstat: `echo "qstat $*" >> "$QJ/calls"; case $1 in
-j) if test -f "$QJ/$2"; then cat "$QJ/$2"; else printf 'Following jobs do not exist: \\n%s\\n' "$2" >&2; exit 1; fi ;;
*) test ! -f "$QJ/down" || exit 1; cat "$QJ/xml" ;;
esac`,
      });
      const script = `j=$TEJ_ROOT/jobs; QJ=$PWD/qj; export QJ; mkdir -p "$QJ" "$j/a" "$j/b" "$j/f" "$j/arr/2" "$j/new/meta"
me=$(id -un)
jobj() { printf 'job_number: %s\\nowner: %s\\njob_name: %s\\ncontext: %s\\n' "$1" "$me" "$2" "$3" > "$QJ/$1"; }
jobj 11 a "$(sge_context "$j/a")"; jobj 13 arr "$(sge_context "$j/arr")"; jobj 14 arr "$(sge_context "$j/arr")"
jobj 15 arr "tej_attempt=none,tej_dir=1"; jobj 17 victim ""; mkdir "$j/g"; jobj 18 g "$(sge_context "$j/g")"
printf '<job_list><JB_job_number>%s</JB_job_number>\\n<JB_name>%s</JB_name></job_list>\\n' 13 arr 14 arr 15 arr 17 victim 18 g > "$QJ/xml"
echo 11 > "$j/a/native-id"; echo 12 > "$j/b/native-id"; echo 0 > "$j/b/exit-code"; echo 17 > "$j/f/native-id"; echo 17 > "$j/g/native-id"
echo array > "$j/arr/native-id"; printf '13\\n17\\n--user=x\\n' > "$j/arr/native-ids"; echo 13.2 > "$j/arr/2/native-id"
printf 'a ok\\nb any\\nf ok\\ng ok\\narr ok\\narr/2 any\\n' > "$j/new/meta/after"
sge_hold_into "$j/new/meta"; echo "hold=$sge_hold"; sge_hold_none=yes; sge_hold_into "$j/new/meta"; echo "rerun=$sge_hold"
sge_hold_none=; touch "$QJ/down"; printf 'arr ok\\n' > "$j/new/meta/after"; st=0; sge_hold_into "$j/new/meta" || st=$?; echo "down=$st $sge_hold_bad"`;
      const r = withSgeLib(q, script, { PATH: `${bin}:${process.env.PATH}` });
      assert.equal(r.code, 0, r.stderr);
      // f's and g's native-id (17) and the array's native-ids line 17 are another job of the user's: never
      // held on; g's own job (18) is found by name and context, f has none
      assert.equal(r.stdout, 'hold=11,18,13,14,13\nrerun=\ndown=75 qstat did not answer: cannot tell the Grid Engine jobs of arr; try again\n');
    });

    test('setup suggests sge where qstat -help names Grid Engine and Slurm is not set up', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const bin = join(q.tmp, 'bin');
      mkdirSync(bin);
      for (const dir of ['/usr/bin', '/bin']) {
        for (const name of readdirSync(dir)) {
          if (['sbatch', 'squeue', 'scancel', 'sacct'].includes(name)) continue;
          try {
            symlinkSync(join(dir, name), join(bin, name));
          } catch {
            // the same name in both directories
          }
        }
      }
      const r = parseReply((await q.run(['setup'], { env: { PATH: bin } })).stdout);
      assert.equal(r.header.plugin, 'direct', 'never switched silently');
      assert.equal(r.header.suggest_plugin, 'sge');
    });
  });
});
