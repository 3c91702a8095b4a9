// An array's tasks are ready before the scheduler has them: Slurm and Grid Engine may start a task the
// moment sbatch or qsub returns, and a wrapper that finds its directory without work/, meta/ or attempt
// refuses to run (the task was then lost: seen in CI, a sweep's task 1 under Slurm, an array's task 1
// under Grid Engine). Stand-in sbatch and qsub record what each task directory holds when they are called.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const LIBS = ['common', 'proc', 'state', 'answers', 'kill', 'batch', 'after', 'array', 'slurm-array'];

/** Stand-ins: TOOL reads its batch script and notes, per task directory, whether it is ready. */
function scheduler(q: HelperQueue, tool: string, reply: string): string {
  const bin = join(q.tmp, 'sched-bin');
  mkdirSync(bin, { recursive: true });
  const note = join(q.tmp, `${tool}.seen`);
  writeFileSync(
    join(bin, tool),
    `#!/bin/sh\ncat >/dev/null\nfor t in */; do t=\${t%/}; case $t in *[!0-9]*) continue ;; esac\n` +
      `if test -d "$t/work" && test -d "$t/meta" && test -f "$t/attempt"; then echo "$t ready"; else echo "$t unready"; fi\n` +
      `done >>'${note}'\necho '${reply}'\n`,
  );
  // no Slurm controller here: MaxArraySize is the default
  writeFileSync(join(bin, 'scontrol'), '#!/bin/sh\nexit 1\n');
  for (const f of [tool, 'scontrol']) chmodSync(join(bin, f), 0o755);
  return note;
}

/** An array of three tasks as array_create leaves it: the upload moved in, each task directory queued. */
function fakeArray(q: HelperQueue, id: string): string {
  const dir = q.jobDir(id);
  mkdirSync(join(dir, 'work'), { recursive: true });
  mkdirSync(join(dir, 'meta', 'array'), { recursive: true });
  writeFileSync(join(dir, 'work', 'start.sh'), 'exit 0\n');
  writeFileSync(join(dir, 'meta', 'script'), 'start.sh\n');
  writeFileSync(join(dir, 'meta', 'array', 'tasks'), '0\n1\n2\n');
  writeFileSync(join(dir, 'count'), '3\n');
  writeFileSync(join(dir, 'attempt'), `${id}.1.2\n`);
  for (const t of ['0', '1', '2']) {
    mkdirSync(join(dir, t));
    writeFileSync(join(dir, t, 'queued'), '1\n');
  }
  return dir;
}

function submit(q: HelperQueue, plugin: 'slurm' | 'sge', fn: string, dir: string) {
  const [cmd, ...pre] = q.shell.argv;
  const libs = LIBS.map((l) => `. "$TEJ_ROOT/lib/${l}.sh"`).join('; ');
  const r = spawnSync(cmd!, [...pre, '-c', `${libs}; . "$TEJ_ROOT/queues/${plugin}.sh"; now_into; TEJ_ATTEMPT=$(cat "$1/attempt"); ${fn} "$1"`, 'sh', dir], {
    env: { ...q.env, TEJ_ROOT: q.root, PATH: `${join(q.tmp, 'sched-bin')}:${q.env.PATH}` },
    cwd: q.tmp,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('an array is handed to the scheduler only with every task ready', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('slurm: sbatch --array is called once all three task directories hold work, meta and attempt', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const seen = scheduler(q, 'sbatch', '42');
      const dir = fakeArray(q, 'arr');
      const r = submit(q, 'slurm', 'slurm_array_submit', dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(seen, 'utf8'), '0 ready\n1 ready\n2 ready\n');
      for (const [i, t] of ['0', '1', '2'].entries()) {
        assert.equal(readFileSync(join(dir, t, 'native-id'), 'utf8'), `42_${i}\n`);
        assert.equal(readFileSync(join(dir, t, 'attempt'), 'utf8'), 'arr.1.2\n');
      }
    });

    test('sge: qsub -t is called once all three task directories hold work, meta and attempt', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const seen = scheduler(q, 'qsub', '7.1-3:1');
      const dir = fakeArray(q, 'arr');
      const r = submit(q, 'sge', 'sge_array_submit', dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(seen, 'utf8'), '0 ready\n1 ready\n2 ready\n');
      for (const [i, t] of ['0', '1', '2'].entries()) {
        assert.equal(readFileSync(join(dir, t, 'native-id'), 'utf8'), `7.${i + 1}\n`);
      }
    });
  });
});
