// The pbs plugin's arrays without a PBS server (lib/pbsarray.sh): task ids from what qsub printed, the
// batch script's choice of a task's directory in each dialect, one qstat (-t for PBS Pro's and Torque's
// arrays) over recorded array outputs (fixtures/pbs/, see its README) with per-task states, and the
// ownership check that stands before every qdel. End to end on Slurm's wrappers:
// test/integration/pbs-arrays.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pbs/', import.meta.url));
// the Job_Name of the recorded array samples: the fake qstat puts the array's real tag in its place
const SAMPLE_TAGS = /tej2034127731|tej123/g;

/** Runs SCRIPT under the queue's shell with the libraries and queues/pbs.sh loaded, FAKE first on PATH. */
function withPbs(q: HelperQueue, script: string, fake: string) {
  const [cmd, ...pre] = q.shell.argv;
  const libs = ['common', 'proc', 'state', 'batch'].map((l) => `. "$TEJ_ROOT/lib/${l}.sh"`).join('; ');
  const r = spawnSync(cmd!, [...pre, '-c', `${libs}; . "$TEJ_ROOT/queues/pbs.sh"; ${script}`], {
    env: { ...q.env, TEJ_ROOT: q.root, PATH: `${fake}:${q.env.PATH ?? process.env.PATH}` },
    cwd: q.tmp,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A bin directory whose qstat logs its arguments and prints FIXTURE with the sample's job name replaced by $TAG, and whose qdel logs. */
function fakeServer(q: HelperQueue, fixture: string): string {
  const bin = join(q.tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  const text = readFileSync(join(FIXTURES, fixture), 'utf8');
  writeFileSync(join(q.tmp, 'sample'), text.replace(SAMPLE_TAGS, 'TAG_HERE'));
  writeFileSync(join(bin, 'qstat'), `#!/bin/sh\necho "qstat $*" >> "${q.tmp}/calls"\nsed "s/TAG_HERE/$(cat "${q.tmp}/tag" 2>/dev/null)/" "${q.tmp}/sample"\n`);
  writeFileSync(join(bin, 'qdel'), `#!/bin/sh\necho "qdel $*" >> "${q.tmp}/calls"\n`);
  chmodSync(join(bin, 'qstat'), 0o755);
  chmodSync(join(bin, 'qdel'), 0o755);
  return bin;
}

/** An array ARR of N task directories under the queue, each with native-id (and launched, when given). */
function arrayDirs(q: HelperQueue, ids: string[], launched: (string | null)[] = []): string[] {
  return ids.map((id, n) => {
    const d = join(q.root, 'jobs', 'arr', String(n));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'native-id'), `${id}\n`);
    writeFileSync(join(d, 'native-open'), '');
    if (launched[n]) writeFileSync(join(d, 'launched'), `${launched[n]} 4242 -\n`);
    return d;
  });
}

const calls = (q: HelperQueue) => (existsSync(join(q.tmp, 'calls')) ? readFileSync(join(q.tmp, 'calls'), 'utf8') : '');

describe('pbs arrays without a PBS server', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test("makes each task's id from the array's: 123[N].server of PBS Pro's and Torque's 123[].server, Slurm's 123_N of a bare 123", (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const r = withPbs(q, 'load_lib pbsarray; pbs_task_id "1234[].pbs1" 3; pbs_task_id "77[].torque.example" 0; pbs_task_id 9 12', q.tmp);
      assert.equal(r.stdout, '1234[3].pbs1\n77[0].torque.example\n9_12\n', r.stderr);
    });

    test("the batch script runs the task's own directory from PBS_ARRAY_INDEX, PBS_ARRAYID or SLURM_ARRAY_TASK_ID, and nothing beyond the list", (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const lines = withPbs(q, "load_lib pbsarray; pbs_array_tasks=' 5 7 9'; pbs_array_script", q.tmp).stdout;
      const pick = (env: Record<string, string>) => {
        mkdirSync(join(q.tmp, 'a', '7'), { recursive: true });
        mkdirSync(join(q.tmp, 'a', '9'), { recursive: true });
        const [cmd, ...pre] = q.shell.argv;
        const r = spawnSync(cmd!, [...pre, '-c', `job_dir=${q.tmp}/a\n${lines}\necho "$job_dir" >&3`], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
        return { code: r.status, dir: (r.output[3] ?? '').toString().trim() };
      };
      assert.deepEqual(pick({ PBS_ARRAY_INDEX: '1' }), { code: 0, dir: `${q.tmp}/a/7` });
      assert.deepEqual(pick({ PBS_ARRAYID: '2' }), { code: 0, dir: `${q.tmp}/a/9` });
      assert.deepEqual(pick({ SLURM_ARRAY_TASK_ID: '2' }), { code: 0, dir: `${q.tmp}/a/9` });
      assert.equal(pick({ PBS_ARRAYID: '3' }).code, 1);
      assert.equal(pick({ PBS_ARRAYID: '1;x' }).code, 1);
    });

    const cases = [
      { fixture: 'openpbs-qstat-x-f-t-array.txt', dialect: 'pbspro', args: 'qstat -x -f -t 1234[].pbs1', ids: ['1234[0].pbs1', '1234[1].pbs1', '1234[2].pbs1', '1234[3].pbs1'], launched: [], words: ['ended X', 'running R', 'queued Q', 'queued Q'] },
      { fixture: 'torque-qstat-f-t-array.txt', dialect: 'torque', args: 'qstat -f -t 77[].torque.example', ids: ['77[0].torque.example', '77[1].torque.example', '77[2].torque.example', '77[3].torque.example'], launched: [], words: ['ended C', 'running R', 'queued H', 'queued H'] },
      // Slurm's wrappers: tasks 0 and 1 run as Slurm jobs 2 and 3 (their launched), 2 and 3 wait in the array's record 1
      { fixture: 'slurm-torque-qstat-f-array.txt', dialect: 'torque', args: 'qstat -f 2 3 1', ids: ['1_0', '1_1', '1_2', '1_3'], launched: ['2', '3', null, null], words: ['running R', 'running R', 'queued Q', 'queued Q'] },
    ];
    for (const c of cases) {
      test(`reads every task's state from one qstat of the recorded ${c.fixture}`, (t) => {
        const q = new HelperQueue(shell);
        t.after(() => q.cleanUp());
        writeFileSync(join(q.root, 'config'), `plugin=pbs\npbs_dialect=${c.dialect}\n`);
        const dirs = arrayDirs(q, c.ids, c.launched);
        const input = c.ids.map((id, n) => `${id} ${dirs[n]}`).join('\n');
        const bin = fakeServer(q, c.fixture);
        writeFileSync(join(q.tmp, 'tag'), withPbs(q, `pbs_tag "${join(q.root, 'jobs', 'arr')}"`, bin).stdout.trim());
        const r = withPbs(q, `printf '%s\\n' '${input}' | queue_states`, bin);
        assert.equal(r.stdout, c.words.map((w, n) => `${w} ${dirs[n]}\n`).join(''), r.stderr);
        assert.equal(calls(q), `${c.args}\n`);
        // an ended task is settled: its letter kept, native-open gone; the others stay open
        const [word, letter] = c.words[0]!.split(' ');
        if (word === 'ended') assert.equal(readFileSync(join(dirs[0]!, 'native-state'), 'utf8').trim(), letter);
        assert.equal(existsSync(join(dirs[0]!, 'native-open')), word !== 'ended');
        assert.equal(existsSync(join(dirs[2]!, 'native-open')), true);
        // the records named with another tag: none is the array's (as for tasks that rewrote their
        // native-id to another job's), so no state from them: the tasks' own files answer (none has
        // started: queued); a task not yet run has no array record: ended unrun
        writeFileSync(join(q.tmp, 'tag'), 'tej1');
        const other = withPbs(q, `printf '%s\\n' '${input}' | queue_states`, bin);
        assert.equal(other.stdout, c.ids.map((_, n) => `${c.launched[n] === null ? 'ended C' : 'queued -'} ${dirs[n]}\n`).join(''), other.stderr);
      });
    }

    test("a Slurm-wrapper task that never ran is ended once the array's pending record is gone", (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'config'), 'plugin=pbs\npbs_dialect=torque\n');
      const dirs = arrayDirs(q, ['5_0'], []);
      const r = withPbs(q, `printf '%s\\n' '5_0 ${dirs[0]}' | queue_states`, fakeServer(q, 'slurm-torque-qstat-f-array.txt'));
      assert.equal(r.stdout, `ended C ${dirs[0]}\n`, r.stderr);
    });

    test("qdels a task only through its array's id that qstat shows as tej's, never an id the task wrote", (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'config'), 'plugin=pbs\npbs_dialect=pbspro\n');
      const [task] = arrayDirs(q, ['1234[2].pbs1']);
      const arr = join(q.root, 'jobs', 'arr');
      const bin = fakeServer(q, 'openpbs-qstat-x-f-t-array.txt');
      // the array's tag and this user, as qsub named the array
      const tag = withPbs(q, `pbs_tag "${arr}"`, bin).stdout.trim();
      writeFileSync(join(q.tmp, 'tag'), tag);
      const me = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(q.tmp, 'sample'), readFileSync(join(FIXTURES, 'openpbs-qstat-x-f-t-array.txt'), 'utf8').replace(SAMPLE_TAGS, 'TAG_HERE').replace(/alice@/g, `${me}@`));
      const owned = (id: string) => withPbs(q, `pbs_owned_into "${task}" "${id}"; echo "$? $pbs_owned_id"`, bin).stdout;
      assert.equal(owned('1234[2].pbs1'), '0 1234[2].pbs1\n');
      // another job's id, a task of another array, and a name that is not the array's tag: not tej's
      assert.equal(owned('999.pbs1'), '1 \n');
      assert.equal(owned('999[2].pbs1'), '1 \n');
      // a task under Slurm's wrappers: no qdel ends it alone
      assert.equal(owned('1_0'), '3 \n');
      writeFileSync(join(q.tmp, 'tag'), 'tej1');
      assert.equal(owned('1234[2].pbs1'), '1 \n');
      assert.equal(calls(q).includes('qdel'), false);
    });

    test("takes a Torque subjob that qstat lists under its own id, named TAG-N, as the array's", (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'config'), 'plugin=pbs\npbs_dialect=torque\n');
      const [task] = arrayDirs(q, ['77[2].torque.example']);
      const bin = fakeServer(q, 'torque-qstat-f-t-array.txt');
      writeFileSync(join(q.tmp, 'tag'), withPbs(q, `pbs_tag "${join(q.root, 'jobs', 'arr')}"`, bin).stdout.trim());
      const me = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(q.tmp, 'sample'), readFileSync(join(FIXTURES, 'torque-qstat-f-t-array.txt'), 'utf8').replace(SAMPLE_TAGS, 'TAG_HERE').replace(/alice@/g, `${me}@`));
      const r = withPbs(q, `pbs_owned_into "${task}" "77[2].torque.example"; echo "$? $pbs_owned_id"`, bin);
      assert.equal(r.stdout, '0 77[2].torque.example\n', r.stderr);
    });
  });
});
