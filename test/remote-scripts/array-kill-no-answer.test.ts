// The kill of a scheduler's array asks the scheduler which jobs are the array's before it marks or
// deletes anything: when squeue or qstat does not answer, kill exits 75 ("try again") and leaves the
// array as it was: no killed mark on the array (its tasks start as before) or on any task (whose end
// would then read killed), and no scancel or qdel. Stand-ins for the schedulers' commands; the real
// ones kill arrays in test/integration/{slurm,sge,pbs}-arrays.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const SCHEDULER_COMMANDS = ['squeue', 'scancel', 'sacct', 'qstat', 'qdel'];

/** Stand-ins in DIR/bin that log their calls to DIR/calls and fail as a scheduler that does not answer. */
function downScheduler(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const name of SCHEDULER_COMMANDS) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >>"${join(dir, 'calls')}"\necho "${name}: cannot reach the controller" >&2\nexit 1\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** An array of two running tasks as PLUGIN's submit left it, with the scheduler ids it was given. */
function schedulerArray(q: HelperQueue, plugin: string, ids: { array: string; tasks: [string, string] }): void {
  const dir = q.jobDir('arr');
  mkdirSync(join(dir, 'meta', 'array'), { recursive: true });
  writeFileSync(join(dir, 'meta', 'array', 'tasks'), '0\n1\n');
  writeFileSync(join(dir, 'plugin'), `${plugin}\n`);
  writeFileSync(join(dir, 'native-ids'), `${ids.array}\n`);
  writeFileSync(join(dir, 'submitted'), '100\n');
  ids.tasks.forEach((native, i) => {
    const task = join(dir, String(i));
    mkdirSync(join(task, 'meta'), { recursive: true });
    for (const [name, value] of Object.entries({ plugin, 'native-id': native, submitted: '100', start: '101' })) writeFileSync(join(task, name), `${value}\n`);
  });
}

const ARRAYS = [
  { plugin: 'slurm', array: '20', tasks: ['20_0', '20_1'], said: /squeue did not answer: nothing of the array arr was killed; try again/ },
  { plugin: 'sge', array: '20', tasks: ['20.1', '20.2'], said: /qstat did not answer: nothing of the array arr was killed; try again/ },
  { plugin: 'pbs', array: '20[].server', tasks: ['20[0].server', '20[1].server'], said: /qstat did not answer: nothing of the array arr was killed; try again/ },
] as const;

describe('kill of a scheduler\'s array whose scheduler does not answer', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    for (const a of ARRAYS) {
      test(`${a.plugin}: 75, and neither the array nor a task is marked killed or deleted`, async (t) => {
        const q = await HelperQueue.setUp(shell);
        t.after(() => q.cleanUp());
        schedulerArray(q, a.plugin, { array: a.array, tasks: [...a.tasks] });
        const env = { PATH: `${downScheduler(q.tmp)}:${q.env.PATH}` };
        for (const args of [['kill', 'arr'], ['delete', 'arr', '--kill']]) {
          const r = await q.run(args, { env });
          assert.equal(r.code, 75, `${args.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, a.said);
          assert.ok(!existsSync(join(q.jobDir('arr'), 'killed')), `${args.join(' ')}: the array is not marked killed`);
          for (const i of ['0', '1']) assert.ok(!existsSync(join(q.jobDir('arr'), i, 'killed')), `${args.join(' ')}: task ${i} is not marked killed`);
          assert.ok(existsSync(q.jobDir('arr')), `${args.join(' ')}: the array is still there`);
        }
        assert.doesNotMatch(readFileSync(join(q.tmp, 'calls'), 'utf8'), /^(scancel|qdel)/m);
      });
    }
  });
});
